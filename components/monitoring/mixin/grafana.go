package mixin

// The parts of Grafana's dashboard JSON model (schema version 42) the stack's dashboards use,
// as plain structs: field order and presence are those Grafana writes when it saves a
// dashboard. A panel's grid position comes from the order panels are added in (layout).

type grafanaDashboard struct {
	UID                  string     `json:"uid"`
	Title                string     `json:"title"`
	Description          string     `json:"description"`
	Tags                 []string   `json:"tags"`
	Timezone             string     `json:"timezone"`
	Editable             bool       `json:"editable"`
	GraphTooltip         int        `json:"graphTooltip"` // 1: shared crosshair
	Time                 timeRange  `json:"time"`
	FiscalYearStartMonth int        `json:"fiscalYearStartMonth"`
	Refresh              string     `json:"refresh"`
	SchemaVersion        int        `json:"schemaVersion"`
	Panels               []any      `json:"panels"` // panel or row
	Templating           templating `json:"templating"`
	Annotations          struct{}   `json:"annotations"`
	Links                []dashLink `json:"links"`
	layout               gridCursor // where the next panel goes
}

type timeRange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

type templating struct {
	List []variable `json:"list"`
}

type variable struct {
	Type             string `json:"type"`
	Name             string `json:"name"`
	Label            string `json:"label"`
	SkipURLSync      bool   `json:"skipUrlSync"`
	Query            string `json:"query"`
	Multi            bool   `json:"multi"`
	AllowCustomValue bool   `json:"allowCustomValue"`
	IncludeAll       bool   `json:"includeAll"`
	Auto             bool   `json:"auto"`
	AutoMin          string `json:"auto_min"`
	AutoCount        int    `json:"auto_count"`
}

type dashLink struct {
	Title       string   `json:"title"`
	Type        string   `json:"type"`
	Icon        string   `json:"icon"`
	Tooltip     string   `json:"tooltip"`
	Tags        []string `json:"tags"`
	AsDropdown  bool     `json:"asDropdown"`
	Placement   string   `json:"placement"`
	TargetBlank bool     `json:"targetBlank"`
	IncludeVars bool     `json:"includeVars"`
	KeepTime    bool     `json:"keepTime"`
}

type gridPos struct {
	H int `json:"h"`
	W int `json:"w"`
	X int `json:"x"`
	Y int `json:"y"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type target struct {
	Datasource   datasource `json:"datasource"`
	Expr         string     `json:"expr"`
	Instant      bool       `json:"instant"`
	LegendFormat string     `json:"legendFormat,omitempty"`
	Range        bool       `json:"range"`
	RefID        string     `json:"refId"`
}

type panel struct {
	Type            string      `json:"type"`
	Targets         []target    `json:"targets"`
	Title           string      `json:"title"`
	Description     string      `json:"description"`
	Transparent     bool        `json:"transparent"`
	Datasource      datasource  `json:"datasource"`
	GridPos         gridPos     `json:"gridPos"`
	RepeatDirection string      `json:"repeatDirection"`
	Options         any         `json:"options"` // timeseriesOptions or statOptions
	FieldConfig     fieldConfig `json:"fieldConfig"`
}

type fieldConfig struct {
	Defaults  fieldDefaults `json:"defaults"`
	Overrides []any         `json:"overrides"`
}

type fieldDefaults struct {
	Unit       string          `json:"unit"`
	Min        *float64        `json:"min,omitempty"`
	Thresholds *thresholds     `json:"thresholds,omitempty"`
	Custom     *customDefaults `json:"custom,omitempty"`
}

// customDefaults are a time series panel's own field defaults.
type customDefaults struct {
	FillOpacity int `json:"fillOpacity"`
}

type thresholds struct {
	Mode  string          `json:"mode"`
	Steps []thresholdStep `json:"steps"`
}

type thresholdStep struct {
	Value *float64 `json:"value"` // null: from minus infinity
	Color string   `json:"color"`
}

type timeseriesOptions struct {
	Legend struct {
		DisplayMode string   `json:"displayMode"`
		Placement   string   `json:"placement"`
		ShowLegend  bool     `json:"showLegend"`
		Calcs       []string `json:"calcs"`
	} `json:"legend"`
	Tooltip struct {
		Mode string `json:"mode"`
		Sort string `json:"sort"`
	} `json:"tooltip"`
}

type statOptions struct {
	GraphMode     string `json:"graphMode"`
	ColorMode     string `json:"colorMode"`
	JustifyMode   string `json:"justifyMode"`
	TextMode      string `json:"textMode"`
	WideLayout    bool   `json:"wideLayout"`
	ShowPercent   bool   `json:"showPercentChange"`
	ReduceOptions struct {
		Calcs []string `json:"calcs"`
	} `json:"reduceOptions"`
	PercentChangeColorMode string `json:"percentChangeColorMode"`
	Orientation            string `json:"orientation"`
}

type row struct {
	Type      string  `json:"type"`
	Collapsed bool    `json:"collapsed"`
	Title     string  `json:"title"`
	GridPos   gridPos `json:"gridPos"`
	ID        int     `json:"id"`
	Panels    []panel `json:"panels"` // a collapsed row holds its panels; an open one's follow it
}

// gridCursor places panels left to right on Grafana's 24 columns, starting a new line when
// a panel does not fit or a row begins; a collapsed row's panels take their place too.
type gridCursor struct{ x, y, lineHeight int }

func (c *gridCursor) newLine() {
	if c.x > 0 {
		c.x, c.y, c.lineHeight = 0, c.y+c.lineHeight, 0
	}
}

func (c *gridCursor) place(w, h int) gridPos {
	if c.x+w > 24 {
		c.newLine()
	}
	p := gridPos{H: h, W: w, X: c.x, Y: c.y}
	c.x += w
	c.lineHeight = max(c.lineHeight, h)
	return p
}

// WithRow starts a row; an open row's panels follow it in the dashboard, a collapsed row
// (newRow(...).folded()) holds those added to it.
func (d *grafanaDashboard) WithRow(r *row) *grafanaDashboard {
	d.layout.newLine()
	r.GridPos = gridPos{H: 1, W: 24, X: 0, Y: d.layout.y}
	d.layout.y++
	for i := range r.Panels {
		r.Panels[i].GridPos = d.layout.place(r.Panels[i].GridPos.W, r.Panels[i].GridPos.H)
	}
	d.Panels = append(d.Panels, r)
	return d
}

// WithPanel adds a panel after the others.
func (d *grafanaDashboard) WithPanel(p panel) *grafanaDashboard {
	p.GridPos = d.layout.place(p.GridPos.W, p.GridPos.H)
	d.Panels = append(d.Panels, p)
	return d
}

func newRow(title string) *row { return &row{Type: "row", Title: title, Panels: []panel{}} }

// folded collapses the row: its panels are shown when it is opened.
func (r *row) folded() *row { r.Collapsed = true; return r }

// WithPanel puts a panel into a collapsed row.
func (r *row) WithPanel(p panel) *row { r.Panels = append(r.Panels, p); return r }
