module github.com/samnav/samnav/contracts

go 1.26.8
