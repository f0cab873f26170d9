package contracts

// ODPS is an Open Data Product Standard v1.0.0 document, as far as
// meshplane reads and writes it.
type ODPS struct {
	APIVersion       string           `json:"apiVersion" yaml:"apiVersion"`
	Kind             string           `json:"kind" yaml:"kind"`
	ID               string           `json:"id" yaml:"id"`
	Name             string           `json:"name,omitempty" yaml:"name,omitempty"`
	Version          string           `json:"version,omitempty" yaml:"version,omitempty"`
	Status           string           `json:"status" yaml:"status"`
	Domain           string           `json:"domain,omitempty" yaml:"domain,omitempty"`
	Description      *Description     `json:"description,omitempty" yaml:"description,omitempty"`
	Team             *Team            `json:"team,omitempty" yaml:"team,omitempty"`
	Support          []Support        `json:"support,omitempty" yaml:"support,omitempty"`
	OutputPorts      []OutputPort     `json:"outputPorts,omitempty" yaml:"outputPorts,omitempty"`
	CustomProperties []CustomProperty `json:"customProperties,omitempty" yaml:"customProperties,omitempty"`
}

// Description says what the data is for.
type Description struct {
	Purpose string `json:"purpose,omitempty" yaml:"purpose,omitempty"`
}

// Team is who owns the data.
type Team struct {
	Name    string   `json:"name,omitempty" yaml:"name,omitempty"`
	Members []Member `json:"members,omitempty" yaml:"members,omitempty"`
}

// Member is one person of a team.
type Member struct {
	Username string `json:"username" yaml:"username"`
	Role     string `json:"role,omitempty" yaml:"role,omitempty"`
}

// Support is a channel to reach the owners.
type Support struct {
	Channel string `json:"channel" yaml:"channel"`
	URL     string `json:"url" yaml:"url"`
	Tool    string `json:"tool,omitempty" yaml:"tool,omitempty"`
}

// OutputPort is one version of a product's output port, with its contract.
type OutputPort struct {
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	Type        string `json:"type,omitempty" yaml:"type,omitempty"`
	Version     string `json:"version" yaml:"version"`
	ContractID  string `json:"contractId,omitempty" yaml:"contractId,omitempty"`
}

// ODCS is an Open Data Contract Standard v3.1.0 data contract, as far as
// meshplane reads and writes it.
type ODCS struct {
	APIVersion       string           `json:"apiVersion" yaml:"apiVersion"`
	Kind             string           `json:"kind" yaml:"kind"`
	ID               string           `json:"id" yaml:"id"`
	Name             string           `json:"name,omitempty" yaml:"name,omitempty"`
	Version          string           `json:"version" yaml:"version"`
	Status           string           `json:"status" yaml:"status"`
	Domain           string           `json:"domain,omitempty" yaml:"domain,omitempty"`
	Description      *Description     `json:"description,omitempty" yaml:"description,omitempty"`
	Schema           []SchemaObject   `json:"schema,omitempty" yaml:"schema,omitempty"`
	Servers          []Server         `json:"servers,omitempty" yaml:"servers,omitempty"`
	Team             *Team            `json:"team,omitempty" yaml:"team,omitempty"`
	Support          []Support        `json:"support,omitempty" yaml:"support,omitempty"`
	SLAProperties    []SLAProperty    `json:"slaProperties,omitempty" yaml:"slaProperties,omitempty"`
	CustomProperties []CustomProperty `json:"customProperties,omitempty" yaml:"customProperties,omitempty"`
}

// SchemaObject is a dataset: here, a port's topic.
type SchemaObject struct {
	Name         string     `json:"name" yaml:"name"`
	PhysicalName string     `json:"physicalName,omitempty" yaml:"physicalName,omitempty"`
	PhysicalType string     `json:"physicalType,omitempty" yaml:"physicalType,omitempty"`
	LogicalType  string     `json:"logicalType,omitempty" yaml:"logicalType,omitempty"`
	Description  string     `json:"description,omitempty" yaml:"description,omitempty"`
	Properties   []Property `json:"properties,omitempty" yaml:"properties,omitempty"`
}

// Property is a field of a dataset.
type Property struct {
	Name               string           `json:"name" yaml:"name"`
	LogicalType        string           `json:"logicalType,omitempty" yaml:"logicalType,omitempty"`
	PhysicalType       string           `json:"physicalType,omitempty" yaml:"physicalType,omitempty"`
	Description        string           `json:"description,omitempty" yaml:"description,omitempty"`
	Required           bool             `json:"required" yaml:"required"`
	PrimaryKey         bool             `json:"primaryKey,omitempty" yaml:"primaryKey,omitempty"`
	PrimaryKeyPosition int              `json:"primaryKeyPosition,omitempty" yaml:"primaryKeyPosition,omitempty"`
	Classification     string           `json:"classification,omitempty" yaml:"classification,omitempty"`
	Tags               []string         `json:"tags,omitempty" yaml:"tags,omitempty"`
	CustomProperties   []CustomProperty `json:"customProperties,omitempty" yaml:"customProperties,omitempty"`
}

// Server is where the data is: the Kafka cluster.
type Server struct {
	Server string `json:"server" yaml:"server"`
	Type   string `json:"type" yaml:"type"`
	Host   string `json:"host,omitempty" yaml:"host,omitempty"`
	Format string `json:"format,omitempty" yaml:"format,omitempty"`
}

// SLAProperty is one service-level promise.
type SLAProperty struct {
	Property string `json:"property" yaml:"property"`
	Value    any    `json:"value" yaml:"value"`
	Unit     string `json:"unit,omitempty" yaml:"unit,omitempty"`
	Element  string `json:"element,omitempty" yaml:"element,omitempty"`
}
