package provision

import "testing"

func TestResourcesString(t *testing.T) {
	for _, tc := range []struct {
		r    Resources
		want string
	}{
		{Resources{}, ""},
		{Resources{Topics: []string{"a"}}, "topic a"},
		{Resources{Topics: []string{"a", "b"}, Connectors: []string{"c"}}, "topics a, b and connector c"},
		{Resources{Connectors: []string{"c", "d"}}, "connectors c, d"},
	} {
		if got := tc.r.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.r, got, tc.want)
		}
		if tc.r.Empty() != (tc.want == "") {
			t.Errorf("%+v: Empty() = %v", tc.r, tc.r.Empty())
		}
	}
}
