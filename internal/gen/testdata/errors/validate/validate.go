// Package validate has validate tags that futuresgen refuses, each at the
// column of its rule.
package validate

import (
	"context"
	"time"
)

type Inner struct {
	Deep string `json:"deep" validate:"required,emial"`
}

// Uncomparable cannot be compared with its zero value.
type Uncomparable struct {
	List []string `json:"list"`
}

type Body struct {
	OK     string          `json:"ok" validate:"required,min=1"`
	Flag   bool            `json:"flag" validate:"min=1"`
	Count  int             `json:"count" validate:"email"`
	Ratio  float64         `json:"ratio" validate:"oneof=1.5 2.5"`
	Name   string          `json:"name" validate:"min=abc,max=-1"`
	Late   string          `json:"late" validate:"min=1,omitempty"`
	Either string          `json:"either" validate:"email|url"`
	Tags   string          `json:"tags" validate:"dive,min=1"`
	Items  []string        `json:"items" validate:"dive,emial"`
	When   time.Time       `json:"when" validate:"min=1"`
	Layout string          `json:"layout" validate:"datetime"`
	Size   uint            `json:"size" validate:"min=-1"`
	Level  string          `json:"level" validate:"oneof="`
	Pick   int             `json:"pick" validate:"oneof=1 one"`
	Wait   time.Duration   `json:"wait" validate:"min=soon"`
	Inner  Uncomparable    `json:"inner" validate:"required"`
	ByKey  map[int8]string `json:"by_key" validate:"dive,min=1"`
	Nested Inner           `json:"nested"`
	Empty  string          `json:"empty" validate:",required"`
	Email  string          `json:"email" validate:"email=yes"`
	Quoted string          `json:"quoted" validate:"oneof='a b"`
	Fun    []func()        `json:"-" validate:"required"`
}

// Save has a body with bad rules and parameters with bad rules.
//
//futures:view POST /save/{id}
func Save(ctx context.Context, req struct {
	ID    int64    `path:"id" validate:"alpha"`
	Tags  []string `query:"tag" validate:"email"`
	Token string   `header:"X-Token" validate:"required,lenn=3"`
	Body  Body
}) error {
	return nil
}
