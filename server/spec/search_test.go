package spec

import (
	"slices"
	"testing"
)

func TestSearchText(t *testing.T) {
	p := Product{Description: "Orders  placed in the Web Shop", Ports: []OutputPort{
		{Name: "orders", Fields: []Field{{Name: "Order_ID", Classification: ClassNone}, {Name: "email", Classification: ClassPII, Tags: []string{"contact"}}}},
		{Name: "customers", Fields: []Field{{Name: "email", Classification: ClassPII, Tags: []string{"contact", "gdpr"}}, {Name: "note"}}},
	}}
	want := "orders\norders  placed in the web shop\norder_id\nnone\nemail\npii\ncontact\ncustomers\ngdpr\nnote"
	if got := SearchText("orders", p); got != want {
		t.Fatalf("SearchText = %q, want %q", got, want)
	}
	if got := ClassificationBits(p); got != ClassificationBit(ClassNone)|ClassificationBit(ClassPII)|ClassificationBit(ClassUnclassified) {
		t.Fatalf("ClassificationBits = %b", got)
	}
	if ClassificationBit("secret") != 0 || ClassificationBit(ClassSensitive) == 0 {
		t.Fatal("ClassificationBit of an unknown or a known classification")
	}
	if got := SearchTerms("  Customer\tE-Mail\n"); !slices.Equal(got, []string{"customer", "e-mail"}) {
		t.Fatalf("SearchTerms = %q", got)
	}
}
