module github.com/samnav/samnav/services/console

go 1.26.8

replace (
	github.com/samnav/samnav/contracts => ../../contracts
	github.com/samnav/samnav/pkg => ../../pkg
)
