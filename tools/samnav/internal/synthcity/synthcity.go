// Package synthcity generates a deterministic synthetic city for `samnav dev`
// and for tests: persons with valid-checksum synthetic identity numbers,
// organisations, operating units, addresses, the city's nämnder and
// förvaltningar, and employees. No record describes a real person: names are
// drawn at random from common Swedish names and identity numbers from a
// generator, and every number's check digit is valid so that the hub's
// validation accepts them.
//
// Records refer to each other by Ref values holding a symbolic key
// ("namnd/3"); the loader replaces them with the opaque ids the hub assigns,
// creating records in the order City returns them (every record after the
// records it refers to).
package synthcity

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Size says how many records of each kind to make.
type Size struct {
	Persons, Organisations, Units, Employees int
}

// DefaultSize is the city `samnav dev` seeds: big enough to feel alive, small
// enough to load in seconds.
var DefaultSize = Size{Persons: 10_000, Organisations: 1_000, Units: 300, Employees: 2_000}

// Ref stands for the opaque id of another record, by its symbolic key.
type Ref string

// Record is one record to create.
type Record struct {
	Concept string
	// Key is the record's symbolic key, unique in the city, e.g. "person/17".
	Key    string
	Fields map[string]any
}

// City returns the records of a synthetic city, the same for the same seed
// and size, in an order where every record follows those it refers to.
func City(seed uint64, size Size) []Record {
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x5a4d4e4156)), used: map[string]bool{}}
	var out []Record
	namnder := g.namnder()
	out = append(out, namnder...)
	forv := g.forvaltningar(namnder)
	out = append(out, forv...)
	orgs := g.organisations(size.Organisations)
	out = append(out, orgs...)
	addrs, units := g.units(size.Units, namnder, forv, orgs)
	out = append(out, addrs...)
	out = append(out, units...)
	persons := g.persons(size.Persons)
	out = append(out, persons...)
	out = append(out, g.employees(size.Employees, persons, units, forv)...)
	return out
}

type gen struct {
	r    *rand.Rand
	used map[string]bool // identity and organisation numbers handed out
}

func (g *gen) pick(list []string) string { return list[g.r.IntN(len(list))] }

var (
	givenFemale = []string{"Anna", "Eva", "Maria", "Karin", "Sara", "Elin", "Emma", "Ida", "Linnea", "Sofia", "Maja", "Alice", "Elsa", "Astrid", "Wilma", "Ebba", "Fatima", "Amina", "Leila", "Nour"}
	givenMale   = []string{"Erik", "Lars", "Karl", "Anders", "Johan", "Per", "Mikael", "Oskar", "Lucas", "William", "Hugo", "Liam", "Noah", "Elias", "Ali", "Mohammed", "Omar", "Yusuf", "Adam", "Nils"}
	surnames    = []string{"Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson", "Svensson", "Gustafsson", "Pettersson", "Jonsson", "Jansson", "Hansson", "Bengtsson", "Lindberg", "Lindqvist", "Berg", "Ali", "Mohammed", "Hussein", "Ahmed", "Lind", "Holm", "Sjöberg", "Wallin", "Engström", "Lundgren", "Åberg", "Öberg"}
	streets     = []string{"Drottninggatan", "Götgatan", "Hornsgatan", "Sveavägen", "Odengatan", "Ringvägen", "Fleminggatan", "Sankt Eriksgatan", "Folkungagatan", "Valhallavägen", "Birger Jarlsgatan", "Kungsholmsgatan", "Hantverkargatan", "Bondegatan", "Skånegatan", "Tegnérgatan", "Vasagatan", "Rålambsvägen", "Västerled", "Vårbergsvägen", "Rinkebysvängen", "Tensta allé", "Farsta allé", "Skärholmsgången"}
	districts   = []string{"Södermalm", "Kungsholmen", "Norrmalm", "Östermalm", "Hägersten-Älvsjö", "Skärholmen", "Rinkeby-Kista", "Spånga-Tensta", "Hässelby-Vällingby", "Bromma", "Enskede-Årsta-Vantör", "Farsta", "Skarpnäck", "Älvsjö"}
	orgWords    = []string{"Bygg", "Konsult", "Data", "Vård", "Omsorg", "Skola", "Transport", "Fastighet", "Media", "Design", "Energi", "Mat", "Städ", "El", "Måleri", "Redovisning", "Teknik", "Miljö"}
	orgTails    = []string{"Stockholm", "Norden", "Söder", "City", "Gruppen", "& Co", "Partner", "Service", "Center"}
)

// luhnDigit returns the check digit that makes digits+check pass the Luhn
// test, as personnummer and organisationsnummer use it.
func luhnDigit(digits string) byte {
	sum := 0
	for i := 0; i < len(digits); i++ {
		d := int(digits[i] - '0')
		if i%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}

// personnummer returns a unique valid 12-digit personnummer for birth. Real
// numbers are not avoided: they cannot be told from synthetic ones, but no
// record carries any other fact of a real person.
func (g *gen) personnummer(birth time.Time, female bool) string {
	for {
		serial := g.r.IntN(1000)
		// The third serial digit's parity tells the legal sex: even for women.
		if last := serial % 10; female != (last%2 == 0) {
			serial = serial/10*10 + (last+1)%10
		}
		body := birth.Format("060102") + fmt.Sprintf("%03d", serial)
		pnr := birth.Format("2006") + body[2:] + string(luhnDigit(body))
		if !g.used[pnr] {
			g.used[pnr] = true
			return pnr
		}
	}
}

func (g *gen) organisationsnummer(prefix byte) string {
	for {
		// The third digit is at least 2, which tells an organisation number
		// from a personnummer.
		body := fmt.Sprintf("%c%d%d%06d", prefix, g.r.IntN(10), 2+g.r.IntN(8), g.r.IntN(1_000_000))
		n := body[:6] + "-" + body[6:] + string(luhnDigit(body))
		if !g.used[n] {
			g.used[n] = true
			return n
		}
	}
}

// postnummer returns a postal code in Stockholm's range, 100 00 to 199 99.
func (g *gen) postnummer() string {
	return fmt.Sprintf("1%04d", g.r.IntN(10000))
}

func (g *gen) date(from, to time.Time) time.Time {
	days := int(to.Sub(from).Hours() / 24)
	return from.AddDate(0, 0, g.r.IntN(days+1))
}

func day(t time.Time) string { return t.Format(time.DateOnly) }

var cityStart = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func (g *gen) namnder() []Record {
	specialist := []struct{ name, short, kind string }{
		{"Kommunstyrelsen", "KS", "EXECUTIVE_BOARD"},
		{"Utbildningsnämnden", "UN", "SPECIALIST"},
		{"Socialnämnden", "SN", "SPECIALIST"},
		{"Äldrenämnden", "ÄN", "SPECIALIST"},
		{"Kulturnämnden", "KN", "SPECIALIST"},
		{"Idrottsnämnden", "IN", "SPECIALIST"},
		{"Stadsbyggnadsnämnden", "SBN", "SPECIALIST"},
		{"Miljö- och hälsoskyddsnämnden", "MHN", "SPECIALIST"},
	}
	var out []Record
	for i, s := range specialist {
		out = append(out, Record{Concept: "namnd", Key: fmt.Sprintf("namnd/%d", i), Fields: map[string]any{
			"name": s.name, "shortName": s.short, "kind": s.kind, "validFrom": day(cityStart),
		}})
	}
	for i, d := range districts {
		out = append(out, Record{Concept: "namnd", Key: fmt.Sprintf("namnd/%d", len(specialist)+i), Fields: map[string]any{
			"name": d + " stadsdelsnämnd", "kind": "DISTRICT", "validFrom": day(cityStart),
		}})
	}
	return out
}

func (g *gen) forvaltningar(namnder []Record) []Record {
	out := make([]Record, 0, len(namnder))
	for i, n := range namnder {
		name := n.Fields["name"].(string)
		fname := name + "s förvaltning"
		switch n.Fields["kind"] {
		case "EXECUTIVE_BOARD":
			fname = "Stadsledningskontoret"
		case "DISTRICT":
			fname = districts[i-(len(namnder)-len(districts))] + " stadsdelsförvaltning"
		}
		out = append(out, Record{Concept: "forvaltning", Key: fmt.Sprintf("forvaltning/%d", i), Fields: map[string]any{
			"name": fname, "namnder": []any{Ref(n.Key)}, "costCentre": fmt.Sprintf("%04d", 1000+i*10), "validFrom": day(cityStart),
		}})
	}
	return out
}

func (g *gen) streetAddress() string {
	return fmt.Sprintf("%s %d", g.pick(streets), 1+g.r.IntN(120))
}

func (g *gen) organisations(n int) []Record {
	forms := []string{"AB", "AB", "AB", "AB", "EF", "HB", "KB", "EK", "BRF", "IF", "ST"}
	out := make([]Record, 0, n)
	for i := range n {
		form := g.pick(forms)
		prefix := byte('5')
		switch form {
		case "EF":
			prefix = '5'
		case "IF", "ST":
			prefix = '8'
		case "BRF", "EK":
			prefix = '7'
		case "HB", "KB":
			prefix = '9'
		}
		name := g.pick(orgWords) + g.pick([]string{"", "service ", "huset "})
		name = fmt.Sprintf("%s %s", name, g.pick(orgTails))
		if form == "AB" {
			name += " AB"
		}
		f := map[string]any{
			"organisationNumber": g.organisationsnummer(prefix),
			"name":               name,
			"legalForm":          form,
			"status":             "ACTIVE",
			"registrationDate":   day(g.date(time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC))),
			"postalAddress": map[string]any{
				"streetAddress": g.streetAddress(), "postalCode": g.postnummer(), "postTown": "Stockholm",
			},
		}
		if g.r.IntN(3) == 0 {
			f["emailAddress"] = fmt.Sprintf("info@org%d.example", i)
		}
		out = append(out, Record{Concept: "organisation", Key: fmt.Sprintf("organisation/%d", i), Fields: f})
	}
	return out
}

func (g *gen) units(n int, namnder, forv, orgs []Record) (addrs, units []Record) {
	type kind struct {
		unitType, noun, namnd string
	}
	kinds := []kind{
		{"PRESCHOOL", "förskola", "district"},
		{"PRESCHOOL", "förskola", "district"},
		{"PRIMARY_SCHOOL", "skola", "Utbildningsnämnden"},
		{"UPPER_SECONDARY_SCHOOL", "gymnasium", "Utbildningsnämnden"},
		{"CARE_HOME", "vård- och omsorgsboende", "district"},
		{"HOME_CARE", "hemtjänst", "district"},
		{"LIBRARY", "bibliotek", "Kulturnämnden"},
	}
	namndIndex := map[string]int{}
	for i, r := range namnder {
		namndIndex[r.Fields["name"].(string)] = i
	}
	firstDistrict := len(namnder) - len(districts)
	for i := range n {
		k := kinds[g.r.IntN(len(kinds))]
		ni := firstDistrict + g.r.IntN(len(districts))
		if k.namnd != "district" {
			ni = namndIndex[k.namnd]
		}
		addrKey := fmt.Sprintf("address/%d", i)
		addrs = append(addrs, Record{Concept: "address", Key: addrKey, Fields: map[string]any{
			"streetName": g.pick(streets), "streetNumber": int64(1 + g.r.IntN(120)),
			"postalCode": g.postnummer(), "postTown": "Stockholm",
			"district": districts[g.r.IntN(len(districts))], "validFrom": day(cityStart),
		}})
		f := map[string]any{
			"name":         fmt.Sprintf("%s %s", g.pick([]string{"Solrosens", "Ekens", "Björkens", "Lärkans", "Tallbackens", "Sjöviks", "Parkens", "Ängens"}), k.noun),
			"unitType":     k.unitType,
			"ownerNamnd":   Ref(namnder[ni].Key),
			"forvaltning":  Ref(forv[ni].Key),
			"ownership":    "MUNICIPAL",
			"address":      Ref(addrKey),
			"phoneNumber":  fmt.Sprintf("+468%07d", g.r.IntN(10_000_000)),
			"emailAddress": fmt.Sprintf("enhet%d@stad.example", i),
			"capacity":     int64(20 + g.r.IntN(400)),
			"validFrom":    day(g.date(cityStart, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))),
		}
		if g.r.IntN(5) == 0 && len(orgs) > 0 {
			f["ownership"] = "CONTRACTED"
			f["provider"] = Ref(orgs[g.r.IntN(len(orgs))].Key)
		}
		if k.unitType == "PRIMARY_SCHOOL" || k.unitType == "UPPER_SECONDARY_SCHOOL" || k.unitType == "PRESCHOOL" {
			f["schoolUnitCode"] = fmt.Sprintf("%08d", g.r.IntN(100_000_000))
		}
		var hours []any
		for _, d := range []string{"MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"} {
			hours = append(hours, map[string]any{"dayOfWeek": d, "opens": "07:00", "closes": "17:30"})
		}
		f["openingHours"] = hours
		units = append(units, Record{Concept: "unit", Key: fmt.Sprintf("unit/%d", i), Fields: f})
	}
	return addrs, units
}

func (g *gen) persons(n int) []Record {
	out := make([]Record, 0, n)
	born := time.Date(1930, 1, 1, 0, 0, 0, 0, time.UTC)
	last := time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)
	for i := range n {
		female := g.r.IntN(2) == 0
		given := g.pick(givenMale)
		if female {
			given = g.pick(givenFemale)
		}
		birth := g.date(born, last)
		f := map[string]any{
			"personalIdentityNumber":     g.personnummer(birth, female),
			"givenNames":                 given,
			"preferredGivenName":         given,
			"surname":                    g.pick(surnames),
			"dateOfBirth":                day(birth),
			"protectedIdentity":          "NONE",
			"registrationStatus":         "REGISTERED",
			"municipalityOfRegistration": "0180", // Stockholm
			"registeredAddress": map[string]any{
				"streetAddress": g.streetAddress(), "postalCode": g.postnummer(), "postTown": "Stockholm", "municipalityCode": "0180",
			},
		}
		// About one in a thousand residents has a protected identity.
		if g.r.IntN(1000) == 0 {
			f["protectedIdentity"] = g.pick([]string{"CONFIDENTIALITY_MARKING", "PROTECTED_REGISTRATION"})
		}
		if g.r.IntN(2) == 0 {
			f["phoneNumbers"] = []any{fmt.Sprintf("+467%08d", g.r.IntN(100_000_000))}
		}
		out = append(out, Record{Concept: "person", Key: fmt.Sprintf("person/%d", i), Fields: f})
	}
	return out
}

func (g *gen) employees(n int, persons, units, forv []Record) []Record {
	if len(persons) == 0 || len(forv) == 0 {
		return nil
	}
	titles := []string{"Förskollärare", "Lärare", "Undersköterska", "Bibliotekarie", "Socialsekreterare", "Handläggare", "Enhetschef", "Rektor", "Barnskötare", "Vårdbiträde"}
	types := []string{"PERMANENT", "PERMANENT", "PERMANENT", "FIXED_TERM", "HOURLY", "PROBATIONARY"}
	out := make([]Record, 0, n)
	for i := range min(n, len(persons)) {
		p := persons[i*len(persons)/max(n, 1)]
		f := map[string]any{
			"person":           Ref(p.Key),
			"employeeNumber":   fmt.Sprintf("E%06d", i+1),
			"givenName":        p.Fields["givenNames"],
			"surname":          p.Fields["surname"],
			"title":            g.pick(titles),
			"forvaltning":      Ref(forv[g.r.IntN(len(forv))].Key),
			"employmentType":   g.pick(types),
			"employmentRate":   g.pick([]string{"100.00", "100.00", "75.00", "50.00", "80.00"}),
			"workEmailAddress": fmt.Sprintf("anstalld%d@stad.example", i+1),
			"startDate":        day(g.date(cityStart, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))),
		}
		if len(units) > 0 {
			f["unit"] = Ref(units[g.r.IntN(len(units))].Key)
		}
		out = append(out, Record{Concept: "employee", Key: fmt.Sprintf("employee/%d", i), Fields: f})
	}
	return out
}
