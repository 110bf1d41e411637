package views

import (
	"context"
	"net/http"
)

type Page struct{ Title string }

//futures:view FETCH /a
func BadMethod(ctx context.Context) (Page, error) { return Page{}, nil }

//futures:view GET users
func NoSlash(ctx context.Context) (Page, error) { return Page{}, nil }

//futures:view GET /a/x{id}
func PartialWildcard(ctx context.Context) (Page, error) { return Page{}, nil }

//futures:view GET /a/{rest...}/b
func RestNotLast(ctx context.Context) (Page, error) { return Page{}, nil }

//futures:view GET /dup
func First(ctx context.Context) (Page, error) { return Page{}, nil }

//futures:view GET /dup
func Second(ctx context.Context) (Page, error) { return Page{}, nil }

//futures:view GET /users/{id}
func MissingPathField(ctx context.Context, req struct {
	Q string `query:"q"`
}) (Page, error) {
	return Page{}, nil
}

//futures:view GET /users/{id}/raw
func WildcardNoStruct(ctx context.Context) (Page, error) { return Page{}, nil }

//futures:view POST /fields
func Fields(ctx context.Context, req struct {
	ID      string `path:"id"`
	Untaged string
	Twice   string         `query:"t" header:"T"`
	Map     map[string]int `query:"m"`
	Slice   []int          `path:"s"`
	Empty   string         `query:""`
	Dup1    string         `query:"d"`
	Dup2    string         `query:"d"`
	Body    Page
	Other   Page `body:"json"`
	Form    Page `body:"form"`
}) error {
	return nil
}

//futures:view GET /params
func TooMany(ctx context.Context, a struct{}, b struct{}) error { return nil }

//futures:view GET /notstruct
func NotStruct(ctx context.Context, n int) error { return nil }

//futures:view GET /results
func BadResults(ctx context.Context) (int, int) { return 0, 0 }

//futures:view GET /nothing
func NoResults(ctx context.Context) {}

//futures:view GET /tmpl template=x.html
func TemplateNoValue(ctx context.Context) error { return nil }

//futures:view GET /opts status=99 maxbody=1TB timeout=soon retries=3
func Options(ctx context.Context) error { return nil }

//futures:view GET /chan
func Chan(ctx context.Context) (chan int, error) { return nil, nil }

//futures:view GET
func NoPattern(ctx context.Context) error { return nil }

//futures:view GET /generic
func Generic[T any](ctx context.Context) (T, error) { var z T; return z, nil }

//futures:view GET /raw
func Raw(r *http.Request, extra int) error { return nil }

//futures:view GET /things/{id}
func ByID(req struct {
	ID string `path:"id"`
}) (string, error) {
	return req.ID, nil
}

//futures:view GET /things/{name}
func ByName(req struct {
	Name string `path:"name"`
}) (string, error) {
	return req.Name, nil
}

//futures:view GET /overlap/{x}/b
func OverlapA(req struct {
	X string `path:"x"`
}) (string, error) {
	return req.X, nil
}

//futures:view GET /overlap/c/{y}
func OverlapB(req struct {
	Y string `path:"y"`
}) (string, error) {
	return req.Y, nil
}
