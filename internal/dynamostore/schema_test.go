package dynamostore_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/vidgen/vidgen/internal/samtemplate"
)

// tableSchema is the part of a table's definition both template.yaml and
// CreateTable declare: keys and indexes with what each projects.
type tableSchema struct {
	Keys    []string // "name HASH", "name RANGE"
	Indexes []string // "index: keys; projection TYPE [attrs]"
}

func (s tableSchema) String() string {
	return strings.Join(s.Keys, ", ") + "\n" + strings.Join(s.Indexes, "\n")
}

// TestTemplateDeclaresTheSchema holds the JobsTable of template.yaml and
// the table CreateTable makes for tests to the same keys, indexes and
// projections, so that what the tests measure (an index's projection
// decides what a query can read and what each write costs) is what AWS
// gets.
func TestTemplateDeclaresTheSchema(t *testing.T) {
	var tmpl struct {
		Resources map[string]struct {
			Properties struct {
				KeySchema []struct {
					AttributeName string `yaml:"AttributeName"`
					KeyType       string `yaml:"KeyType"`
				} `yaml:"KeySchema"`
				GlobalSecondaryIndexes []struct {
					IndexName string `yaml:"IndexName"`
					KeySchema []struct {
						AttributeName string `yaml:"AttributeName"`
						KeyType       string `yaml:"KeyType"`
					} `yaml:"KeySchema"`
					Projection struct {
						ProjectionType   string   `yaml:"ProjectionType"`
						NonKeyAttributes []string `yaml:"NonKeyAttributes"`
					} `yaml:"Projection"`
				} `yaml:"GlobalSecondaryIndexes"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := samtemplate.Decode("../../template.yaml", &tmpl); err != nil {
		t.Fatal(err)
	}
	jobs, ok := tmpl.Resources["JobsTable"]
	if !ok {
		t.Fatal("template.yaml has no JobsTable")
	}
	var want tableSchema
	for _, k := range jobs.Properties.KeySchema {
		want.Keys = append(want.Keys, k.AttributeName+" "+k.KeyType)
	}
	for _, ix := range jobs.Properties.GlobalSecondaryIndexes {
		var keys []string
		for _, k := range ix.KeySchema {
			keys = append(keys, k.AttributeName+" "+k.KeyType)
		}
		attrs := slices.Sorted(slices.Values(ix.Projection.NonKeyAttributes))
		want.Indexes = append(want.Indexes, ix.IndexName+": "+strings.Join(keys, ", ")+"; projection "+
			ix.Projection.ProjectionType+" "+strings.Join(attrs, ","))
	}
	slices.Sort(want.Indexes)

	client, table := newTable(t)
	out, err := client.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: &table})
	if err != nil {
		t.Fatal(err)
	}
	var got tableSchema
	for _, k := range out.Table.KeySchema {
		got.Keys = append(got.Keys, *k.AttributeName+" "+string(k.KeyType))
	}
	for _, ix := range out.Table.GlobalSecondaryIndexes {
		var keys []string
		for _, k := range ix.KeySchema {
			keys = append(keys, *k.AttributeName+" "+string(k.KeyType))
		}
		attrs := slices.Sorted(slices.Values(ix.Projection.NonKeyAttributes))
		got.Indexes = append(got.Indexes, *ix.IndexName+": "+strings.Join(keys, ", ")+"; projection "+
			string(ix.Projection.ProjectionType)+" "+strings.Join(attrs, ","))
	}
	slices.Sort(got.Indexes)
	if got.String() != want.String() {
		t.Errorf("CreateTable makes\n%s\nbut template.yaml declares\n%s", got, want)
	}
	for _, ix := range want.Indexes {
		if strings.Contains(ix, "projection ALL") {
			t.Errorf("index %s projects every attribute: each write of a job would write it whole again", ix)
		}
	}
}
