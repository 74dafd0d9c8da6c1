module github.com/samnav/samnav/services/console

go 1.26.8

replace (
	github.com/samnav/samnav/contracts => ../../contracts
	github.com/samnav/samnav/pkg => ../../pkg
)

require (
	github.com/chromedp/cdproto v0.159.0 // indirect
	github.com/chromedp/chromedp v0.23.0 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/samnav/samnav/contracts v0.0.0
	github.com/samnav/samnav/pkg v0.0.0
	github.com/samnav/samnav/services/delivery v0.0.0-00010101000000-000000000000
	github.com/samnav/samnav/services/masterdata v0.0.0-00010101000000-000000000000
	github.com/samnav/samnav/services/registry v0.0.0-00010101000000-000000000000
)

replace github.com/samnav/samnav/services/masterdata => ../masterdata

replace github.com/samnav/samnav/services/registry => ../registry

replace github.com/samnav/samnav/services/delivery => ../delivery
