module github.com/samnav/samnav/tools/samnav

go 1.26.8
