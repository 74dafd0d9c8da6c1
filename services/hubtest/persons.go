package hubtest

import (
	"fmt"
	"time"
)

// personnummerDays is how many birth dates Personnummer cycles through:
// 1940-01-01 plus up to about 79 years.
const personnummerDays = 29_000

// Personnummer returns the i-th (i >= 0) of a sequence of distinct, valid
// 12-digit personnummer and the birth date it encodes, for tests and
// benchmarks that publish many persons: consecutive i are consecutive
// birth dates, and each round of personnummerDays takes the next birth
// number.
func Personnummer(i int) (string, time.Time) {
	birth := time.Date(1940, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%personnummerDays)
	body := birth.Format("060102") + fmt.Sprintf("%03d", 1+i/personnummerDays)
	return birth.Format("2006") + body[2:] + string(luhnDigit(body)), birth
}

// luhnDigit is the digit that makes digits plus it pass the Luhn test
// (weights 2,1,2,... from the left, as for a personnummer's 9 digits).
func luhnDigit(digits string) byte {
	sum := 0
	for i := range len(digits) {
		d := int(digits[i] - '0')
		if i%2 == 0 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}
