package main

//go:generate go run ./internal/cmd/apiref -out ../../docs/api.md

import (
	"fmt"

	"github.com/samnav/samnav/contracts/model"
	"github.com/samnav/samnav/pkg/openapi"
	"github.com/samnav/samnav/services/delivery"
	"github.com/samnav/samnav/services/masterdata"
)

// apiDocument is the OpenAPI document `samnav dev` serves at
// /api/v1/openapi.json: master data and delivery share its port, so the
// document there is the two services' documents merged into one, covering
// every /api/v1 route the port serves. Each service alone serves its own
// at the same path.
func apiDocument(m *model.Model) (openapi.Document, error) {
	doc, err := openapi.Merge(map[string]any{
		"title":   "Samnav hub API",
		"version": "1.0.0",
		"description": "The master data and delivery APIs, as `samnav dev` serves them together on one port. " +
			"In production each service serves its own part of this document at /api/v1/openapi.json.",
	}, masterdata.OpenAPI(m), delivery.OpenAPI())
	if err != nil {
		return nil, fmt.Errorf("merge API documents: %w", err)
	}
	return doc, nil
}
