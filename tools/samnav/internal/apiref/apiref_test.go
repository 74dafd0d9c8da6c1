package apiref_test

import (
	"strings"
	"testing"

	"github.com/samnav/samnav/contracts/contractstest"
	"github.com/samnav/samnav/pkg/openapi"
	"github.com/samnav/samnav/services/delivery"
	"github.com/samnav/samnav/services/masterdata"
	"github.com/samnav/samnav/tools/samnav/internal/apiref"
)

// TestRenderListsEveryOperationWithItsParameters: the page names every
// operation of every document, and every parameter of it.
func TestRenderListsEveryOperationWithItsParameters(t *testing.T) {
	m := contractstest.Model(t)
	docs := []openapi.Document{masterdata.OpenAPI(m), delivery.OpenAPI()}
	page := string(apiref.Render(docs...))
	for _, d := range docs {
		for p, item := range d.Paths() {
			for _, meth := range openapi.Methods {
				o, ok := item[meth].(map[string]any)
				if !ok {
					continue
				}
				head := "#### `" + strings.ToUpper(meth) + " " + p + "`"
				i := strings.Index(page, head)
				if i < 0 {
					t.Errorf("no section %s", head)
					continue
				}
				section := page[i+len(head):]
				if j := strings.Index(section, "#### "); j > 0 {
					section = section[:j]
				}
				params, _ := o["parameters"].([]any)
				shared, _ := item["parameters"].([]any)
				for _, prm := range append(params, shared...) {
					name := prm.(map[string]any)["name"].(string)
					if !strings.Contains(section, "| `"+name+"` |") {
						t.Errorf("%s: parameter %s is not listed", head, name)
					}
				}
			}
		}
	}
	if !strings.Contains(page, "application/problem+json") {
		t.Error("the page does not describe the error shape")
	}
}
