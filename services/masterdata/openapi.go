package masterdata

import (
	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/openapi"
	"github.com/samnav/samnav/services/masterdata/internal/transport/httpapi"
)

// OpenAPI returns the OpenAPI 3.1 document of the master data API for the
// concepts of m, the one the server serves at /api/v1/openapi.json: the
// docs page and `samnav dev`'s merged document are made from it.
func OpenAPI(m *model.Model) openapi.Document { return httpapi.OpenAPI(m) }
