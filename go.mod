module github.com/vidgen/vidgen

go 1.26.8

require go.etcd.io/bbolt v1.5.0

require (
	github.com/aws/aws-lambda-go v1.55.1 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
	golang.org/x/sys v0.45.0 // indirect
)
