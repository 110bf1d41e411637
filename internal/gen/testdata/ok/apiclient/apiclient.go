// Package apiclient is the typed client of package api, in a package that
// has tasks of its own, which call the client.
//
//futures:client example.com/golden/api
package apiclient

import (
	"context"

	"example.com/golden/api"
	"github.com/gofutures/futures/runtime/httpclient"
)

var accounts = NewClient(httpclient.New(httpclient.WithBaseURL("http://localhost:8080")))

// Sync copies an organization's accounts.
//
//futures:task retries=2
func Sync(ctx context.Context, org string) (int, error) {
	page, err := accounts.ListAccounts(ctx, api.ListRequest{Org: org, Token: "t"}).Await(ctx)
	if err != nil {
		return 0, err
	}
	return len(page.Items), nil
}
