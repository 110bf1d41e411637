package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"example.com/e2e/views"
)

// validAccount passes every rule of views.Account.
const validAccount = `{"id":"123e4567-e89b-12d3-a456-426614174000","email":"ada@example.com","name":"Ada",` +
	`"age":36,"site":"https://ada.example.com","plan":"pro","tags":["math","poetry"],"labels":{"team":"engines"},` +
	`"address":{"street":"12 St James's Square","country":"GB"},"host":"ada.example.com","ip":"192.0.2.1",` +
	`"code":"AB12","amount":"-1.5","born":"1815-12-10","agreed":true}`

// checkValidation checks the generated checks of validate tags: a request
// that passes them, one that breaks a rule of every kind (each reported
// once, in order, with its place and name: a parameter's name, a body
// value's JSON pointer), a body that does not decode (only that is
// reported), a type that contains itself, and a missing required body.
func checkValidation(c *site) {
	token := http.Header{"X-Token": {"t"}}
	var got views.Account
	if r := c.do("valid registration", "POST", "/orgs/acme/accounts?invite=abcdefgh&limit=5&tag=x&tag=y", token, validAccount); r.json(http.StatusCreated, &got) {
		var want views.Account
		json.Unmarshal([]byte(validAccount), &want)
		if !reflect.DeepEqual(got, want) {
			fail("valid registration: answered %+v; want %+v", got, want)
		}
	}

	bad := `{"id":"nope","email":"ada@","name":"A","age":12,"site":"nope","plan":"gold",` +
		`"tags":["a","b","c","d"],"labels":{"k/1":"much too long"},"address":{"street":"","country":"FRA"},` +
		`"host":"1bad.example.com","ip":"300.1.1.1","code":"ab","amount":"1e3","born":"1815-13-10","agreed":false}`
	p := c.do("invalid registration", "POST", "/orgs/ac-me/accounts?invite=abc&limit=0&tag=x1&tag=y", nil, bad).problem(http.StatusBadRequest)
	want := []fieldError{
		{"path", "org", "must contain only ASCII letters and digits"},
		{"query", "invite", "must be exactly 8 characters long"},
		{"query", "limit", "must be at least 1"},
		{"header", "X-Token", "is required"},
		{"query", "tag", "value 1: must contain only ASCII letters"},
		{"body", "/id", "must be a UUID"},
		{"body", "/email", "must be an email address"},
		{"body", "/name", "must be at least 2 characters long"},
		{"body", "/age", "must be at least 18"},
		{"body", "/site", "must be an absolute URL"},
		{"body", "/plan", "must be one of free, pro"},
		{"body", "/tags", "must have at most 3 items"},
		{"body", "/labels/k~11", "must be at most 8 characters long"},
		{"body", "/address/street", "is required"},
		{"body", "/address/country", "must be exactly 2 characters long"},
		{"body", "/host", "must be a host name"},
		{"body", "/ip", "must be an IP address"},
		{"body", "/code", "must be exactly 4 characters long"},
		{"body", "/amount", "must be a decimal number"},
		{"body", "/born", "must be a time in the layout 2006-01-02"},
		{"body", "/agreed", "is required"},
	}
	if !reflect.DeepEqual(p.Errors, want) {
		fail("invalid registration: errors\n%s\nwant\n%s", fieldErrors(p.Errors), fieldErrors(want))
	}
	if p.Detail != fmt.Sprintf("%d request values are invalid", len(want)) {
		fail("invalid registration: detail %q", p.Detail)
	}

	// A field left out is its zero value, which oneof refuses: the
	// document must call it required for validators to agree.
	noPlan := strings.Replace(validAccount, `"plan":"pro",`, "", 1)
	p = c.do("registration without a plan", "POST", "/orgs/acme/accounts", token, noPlan).problem(http.StatusBadRequest)
	if want := []fieldError{{"body", "/plan", "must be one of free, pro"}}; !reflect.DeepEqual(p.Errors, want) {
		fail("registration without a plan: errors %s; want %s", fieldErrors(p.Errors), fieldErrors(want))
	}

	// A body that does not decode is reported alone: its half-decoded
	// values are not checked.
	p = c.do("undecodable registration", "POST", "/orgs/acme/accounts", token, `{"id":1,"email":""}`).problem(http.StatusBadRequest)
	if len(p.Errors) != 1 || p.Errors[0].In != "body" || p.Errors[0].Name != "id" {
		fail("undecodable registration: errors %s; want the decoding problem of id alone", fieldErrors(p.Errors))
	}
	// An error of the view itself, declared with errors=409.
	taken := strings.Replace(validAccount, "ada@example.com", "taken@example.com", 1)
	if p := c.do("taken email", "POST", "/orgs/acme/accounts", token, taken).problem(http.StatusConflict); p.Detail != "the email is taken" {
		fail("taken email: detail %q", p.Detail)
	}

	// A tree: a rule broken three levels down, and a list too long two
	// levels down, are named by their pointers.
	tree := `{"name":"root","kids":[{"name":"a","kids":[{"name":"a1"},{"name":""}]},{"name":"b","kids":[{"name":"1"},{"name":"2"},{"name":"3"},{"name":"4"}]}]}`
	p = c.do("invalid tree", "PUT", "/trees", nil, tree).problem(http.StatusBadRequest)
	wantTree := []fieldError{
		{"body", "/kids/0/kids/1/name", "is required"},
		{"body", "/kids/1/kids", "must have at most 3 items"},
	}
	if !reflect.DeepEqual(p.Errors, wantTree) {
		fail("invalid tree: errors\n%s\nwant\n%s", fieldErrors(p.Errors), fieldErrors(wantTree))
	}
	var gotTree views.Tree
	c.do("valid tree", "PUT", "/trees", nil, `{"name":"root","kids":[{"name":"a"}]}`).json(http.StatusOK, &gotTree)
	if gotTree.Name != "root" || len(gotTree.Kids) != 1 || gotTree.Kids[0].Name != "a" {
		fail("valid tree: answered %+v", gotTree)
	}
	p = c.do("no tree", "PUT", "/trees", nil, "").problem(http.StatusBadRequest)
	if want := []fieldError{{"body", "", "is required"}}; !reflect.DeepEqual(p.Errors, want) {
		fail("no tree: errors %s; want %s", fieldErrors(p.Errors), fieldErrors(want))
	}
}

func fieldErrors(list []fieldError) string {
	var b strings.Builder
	for _, f := range list {
		fmt.Fprintf(&b, "  %s %q: %s\n", f.In, f.Name, f.Detail)
	}
	return b.String()
}

// checkOpenAPI checks the document that view.ServeOpenAPI serves: the
// package's own, as JSON with an ETag that a revalidation answers with 304.
func checkOpenAPI(c *site) {
	r := c.do("openapi.json", "GET", "/openapi.json", nil, "")
	if r == nil {
		return
	}
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" || string(r.body) != string(views.OpenAPI()) {
		fail("openapi.json: status %d, Content-Type %q, %d bytes; want 200, application/json and views.OpenAPI()", r.status, r.header.Get("Content-Type"), len(r.body))
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		fail("openapi.json: %v", err)
	}
	if doc.OpenAPI != "3.1.0" || doc.Paths["/orgs/{org}/accounts"]["post"] == nil || doc.Paths["/bind/{id}/{name}/{rest}"]["get"] == nil {
		fail("openapi.json: version %q, paths %v", doc.OpenAPI, doc.Paths)
	}
	if r := c.do("openapi.json again", "GET", "/openapi.json", http.Header{"If-None-Match": {r.header.Get("ETag")}}, ""); r != nil && r.status != http.StatusNotModified {
		fail("openapi.json with If-None-Match of its ETag: status %d; want 304", r.status)
	}
}

// checkShapes gets a value of every JSON form and puts it back: what the
// server writes, it reads (the contract test holds both to the document).
func checkShapes(c *site) {
	r := c.do("shapes", "GET", "/shapes", nil, "")
	var got map[string]json.RawMessage
	if !r.json(http.StatusOK, &got) {
		return
	}
	for key, want := range map[string]string{
		"kind": `"round"`, "count": `"1099511627776"`, "bytes": `"Ynl0ZXM="`, "wait": "1500000000",
		"none": "null", "by_id": `{"-1":"minus one","2":"two"}`, "addr": `"2001:db8::1"`, "fixed": "[true,false]",
	} {
		if string(got[key]) != want {
			fail("shapes: %s is %s; want %s", key, got[key], want)
		}
	}
	for _, absent := range []string{"note", "later", "empty", "Skipped", "hidden"} {
		if _, ok := got[absent]; ok {
			fail("shapes: %s is there; want it left out", absent)
		}
	}
	back := c.do("shapes back", "PUT", "/shapes", nil, string(r.body))
	if back != nil && (back.status != http.StatusOK || string(back.body) != string(r.body)) {
		fail("shapes back: %d %s; want 200 and what GET answered", back.status, back.body)
	}
}
