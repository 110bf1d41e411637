package gen

import "testing"

func TestSummarize(t *testing.T) {
	for _, tc := range []struct{ doc, summary, rest string }{
		{"", "", ""},
		{"Greet greets.", "Greet greets.", ""},
		{"Greet greets\nwarmly. It answers\nJSON.\n\nA second paragraph.", "Greet greets warmly.", "It answers JSON.\n\nA second paragraph."},
		{"Show shows J. Doe's page. Then more.", "Show shows J. Doe's page.", "Then more."},
		{"No period here\n\nbut a paragraph.", "No period here", "but a paragraph."},
		{"Run runs v1.2 things? Yes.", "Run runs v1.2 things?", "Yes."},
		{"Greet answers:\n\n\tcurl localhost\n\tcurl other\n\nThen prose\ncontinues.", "Greet answers:", "\tcurl localhost\n\tcurl other\n\nThen prose continues."},
		{"Lists:\n\n- one\n- two", "Lists:", "- one\n- two"},
	} {
		summary, rest := summarize(tc.doc)
		if summary != tc.summary || rest != tc.rest {
			t.Errorf("summarize(%q) = %q, %q; want %q, %q", tc.doc, summary, rest, tc.summary, tc.rest)
		}
	}
}

func TestDeprecated(t *testing.T) {
	if !deprecated("F does.\n\nDeprecated: use G.") || deprecated("F is not Deprecated: at all.") {
		t.Error("deprecated does not follow Go's convention")
	}
}
