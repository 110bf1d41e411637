package model

// Feed is a type of another package.
type Feed struct {
	URL    string
	secret string
}

// Kind is not a struct.
type Kind int
