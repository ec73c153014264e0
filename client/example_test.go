package client_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/vidgen/vidgen"
	"github.com/vidgen/vidgen/client"
)

// Submit a generation, follow it, and save the video.
func Example() {
	ctx := context.Background()
	c, err := client.New(os.Getenv("VIDGEN_URL"), os.Getenv("VIDGEN_API_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	g, err := c.Submit(ctx, vidgen.Request{ImageURL: "https://example.com/mountain.jpg", Prompt: "A dragon over the mountain"})
	if err != nil {
		log.Fatal(err) // an *client.APIError for the API's refusals
	}
	g, err = c.Wait(ctx, g.ID, func(p vidgen.Generation) { fmt.Println(p.ID, p.Status) })
	if err != nil {
		log.Fatal(err)
	}
	if g.Status != vidgen.Completed {
		log.Fatalf("job %s failed: %s: %s", g.ID, g.Error.Name, g.Error.Message)
	}
	f, err := os.Create("video.mp4")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	if _, err := c.Download(ctx, g.ID, f); err != nil {
		log.Fatal(err)
	}
}

// Iterate over every job of the tenant that completed, page after page.
func ExampleClient_List() {
	c, err := client.New("http://127.0.0.1:3000", "vidgen-local-key")
	if err != nil {
		log.Fatal(err)
	}
	for g, err := range c.List(context.Background(), client.ListOptions{Status: vidgen.Completed}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(g.ID, g.CreatedAt)
	}
}
