package spec

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/meshplane/meshplane/server/errs"
)

// Limits keep every stored product small enough to render, diff and audit.
const (
	MaxDescription     = 4096
	MaxLabels          = 64
	MaxLabelValue      = 63
	MaxTables          = 500
	MaxPorts           = 32
	MaxFields          = 1000
	MaxTags            = 32
	MaxSinks           = 16
	MaxPartitions      = 1024
	MaxMajorVersion    = 999
	MinRetentionMs     = 60_000
	MaxRetentionMs     = 10 * 365 * 24 * 3600 * 1000
	DefaultRetentionMs = 7 * 24 * 3600 * 1000
	DefaultPartitions  = 3
)

var (
	nameRe      = regexp.MustCompile(`^[a-z][a-z0-9-]{1,62}$`)
	labelKeyRe  = regexp.MustCompile(`^[a-z][a-z0-9._/-]{0,62}$`)
	labelValRe  = regexp.MustCompile(`^[A-Za-z0-9._-]*$`)
	fieldNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
	identRe     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]{0,62}$`)
	tagRe       = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	ownerRe     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,253}$`)
	userRe      = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,127}$`)
	hostRe      = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)
	envRefRe    = regexp.MustCompile(`^env:[A-Za-z_][A-Za-z0-9_]{0,127}$`)
	fileRefRe   = regexp.MustCompile(`^file:(/[A-Za-z0-9._-]+)+:[A-Za-z0-9._-]{1,128}$`)
	vaultRefRe  = regexp.MustCompile(`^vault:[A-Za-z0-9][A-Za-z0-9._/-]{0,254}:[A-Za-z0-9._-]{1,128}$`)
	gcpRe       = regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`)
	datasetRe   = regexp.MustCompile(`^[A-Za-z0-9_]{1,1000}$`)
	bucketRe    = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	regionRe    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	prefixRe    = regexp.MustCompile(`^[A-Za-z0-9!_.*'()/-]{0,512}$`)
	jdbcURLRe   = regexp.MustCompile(`^jdbc:(postgresql|mysql|mariadb|sqlserver|oracle:thin|db2)://`)
)

// ValidName reports whether s is a meshplane resource name: a lower-case,
// DNS-label-like word, safe as a file name, Terraform identifier and Kafka name.
func ValidName(s string) bool { return nameRe.MatchString(s) }

// CheckName records a violation unless name is a valid resource name.
func CheckName(v *errs.Violations, path, name string) {
	switch {
	case name == "":
		v.Add(path, "is required")
	case !nameRe.MatchString(name):
		v.Add(path, "must match ^[a-z][a-z0-9-]{1,62}$ (lower-case letters, digits and '-', starting with a letter, 2 to 63 characters)")
	}
}

// CheckDescription records a violation for an over-long or non-printable description.
func CheckDescription(v *errs.Violations, path, s string) {
	if !utf8.ValidString(s) {
		v.Add(path, "must be valid UTF-8")
		return
	}
	if n := utf8.RuneCountInString(s); n > MaxDescription {
		v.Add(path, "must be at most %d characters, got %d", MaxDescription, n)
		return
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' {
			v.Add(path, "must not contain control characters")
			return
		}
		// Line separators and bidirectional overrides make text render
		// differently from what it is (reviewers would read a different plan).
		if r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Bidi_Control, r) {
			v.Add(path, "must not contain line-separator or bidirectional-control characters")
			return
		}
	}
}

// CheckLabels records violations for too many labels or malformed keys and values.
func CheckLabels(v *errs.Violations, path string, labels map[string]string) {
	if len(labels) > MaxLabels {
		v.Add(path, "must have at most %d labels, got %d", MaxLabels, len(labels))
		return
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		val := labels[k]
		p := fmt.Sprintf("%s[%q]", path, k)
		if !labelKeyRe.MatchString(k) {
			v.Add(p, "label key must match ^[a-z][a-z0-9._/-]{0,62}$")
			continue
		}
		if len(val) > MaxLabelValue || !labelValRe.MatchString(val) {
			v.Add(p, "label value must be at most %d characters of letters, digits, '.', '_' and '-'", MaxLabelValue)
		}
	}
}

// CheckSecretRef records a violation unless ref is a config-provider reference
// (env:NAME, file:/path:key or vault:path:key). A reference is never the secret.
func CheckSecretRef(v *errs.Violations, path, ref string, required bool) {
	if ref == "" {
		if required {
			v.Add(path, "is required: name where the secret lives (env:NAME, file:/path:key or vault:path:key), never the secret itself")
		}
		return
	}
	if strings.Contains(ref, "..") || !(envRefRe.MatchString(ref) || fileRefRe.MatchString(ref) || vaultRefRe.MatchString(ref)) {
		v.Add(path, "must be a secret reference of the form env:NAME, file:/path:key or vault:path:key")
	}
}

// Normalize fills defaults and derives topic names, so what is stored is explicit.
func (p *Product) Normalize(domain, product string) {
	if len(p.Source.Tables) == 1 {
		for i := range p.Ports {
			if p.Ports[i].Table == "" {
				p.Ports[i].Table = p.Source.Tables[0]
			}
		}
	}
	for i := range p.Ports {
		port := &p.Ports[i]
		if port.MajorVersion == 0 {
			port.MajorVersion = 1
		}
		if port.Partitions == 0 {
			port.Partitions = DefaultPartitions
		}
		if port.RetentionMs == 0 {
			port.RetentionMs = DefaultRetentionMs
		}
		if port.CleanupPolicy == "" {
			port.CleanupPolicy = CleanupDelete
		}
		port.Topic = TopicName(domain, product, port.Name, port.MajorVersion)
	}
	for i := range p.Sinks {
		s := &p.Sinks[i]
		if s.S3 != nil {
			if s.S3.Format == "" {
				s.S3.Format = "parquet"
			}
			if s.S3.FlushSize == 0 {
				s.S3.FlushSize = 1000
			}
			if s.S3.RotateIntervalMs == 0 {
				s.S3.RotateIntervalMs = 600_000
			}
		}
		if s.JDBC != nil && s.JDBC.InsertMode == "" {
			s.JDBC.InsertMode = "upsert"
		}
	}
}

// Validate records every violation in p under path (for example "spec").
// Call Normalize first: Validate checks the stored form.
func (p *Product) Validate(v *errs.Violations, path string) {
	CheckDescription(v, path+".description", p.Description)
	switch {
	case p.Owner == "":
		v.Add(path+".owner", "is required")
	case !ownerRe.MatchString(p.Owner):
		v.Add(path+".owner", "must be a principal name or e-mail address")
	}
	CheckLabels(v, path+".labels", p.Labels)
	p.Source.validate(v, path+".source")

	tables := map[string]bool{}
	for _, t := range p.Source.Tables {
		tables[t] = true
	}
	ports := map[string]OutputPort{}
	switch {
	case len(p.Ports) == 0:
		v.Add(path+".ports", "at least one output port is required")
	case len(p.Ports) > MaxPorts:
		v.Add(path+".ports", "must have at most %d ports, got %d", MaxPorts, len(p.Ports))
	default:
		// Each port is fed by one table, and a table's changes can be routed
		// to one topic only.
		routedBy := map[string]string{}
		for i, port := range p.Ports {
			pp := fmt.Sprintf("%s.ports[%d]", path, i)
			if _, dup := ports[port.Name]; dup && port.Name != "" {
				v.Add(pp+".name", "duplicate port name %q", port.Name)
			}
			ports[port.Name] = port
			port.validate(v, pp, tables)
			if other, taken := routedBy[port.Table]; taken && tables[port.Table] {
				v.Add(pp+".table", "table %q already feeds port %q: a table's changes can be routed to one topic only", port.Table, other)
			} else if port.Table != "" {
				routedBy[port.Table] = port.Name
			}
		}
	}

	if len(p.Sinks) > MaxSinks {
		v.Add(path+".sinks", "must have at most %d sinks, got %d", MaxSinks, len(p.Sinks))
		return
	}
	sinks := map[string]bool{}
	for i, s := range p.Sinks {
		sp := fmt.Sprintf("%s.sinks[%d]", path, i)
		if sinks[s.Name] && s.Name != "" {
			v.Add(sp+".name", "duplicate sink name %q", s.Name)
		}
		sinks[s.Name] = true
		s.validate(v, sp, ports)
	}
}

func (s *Source) validate(v *errs.Violations, path string) {
	switch s.Kind {
	case SourcePostgres, SourceMySQL:
	case "":
		v.Add(path+".kind", "is required (postgres or mysql)")
	default:
		v.Add(path+".kind", "must be postgres or mysql, got %q", s.Kind)
	}
	checkHost(v, path+".host", s.Host)
	if s.Port < 1 || s.Port > 65535 {
		v.Add(path+".port", "must be between 1 and 65535")
	}
	switch {
	case s.Database == "":
		v.Add(path+".database", "is required")
	case !identRe.MatchString(s.Database):
		v.Add(path+".database", "must be a plain identifier (letters, digits, '_' and '$', at most 63 characters)")
	}
	switch {
	case s.Username == "":
		v.Add(path+".username", "is required")
	case !userRe.MatchString(s.Username):
		v.Add(path+".username", "must be letters, digits, '_', '.', '@' or '-' (at most 128 characters)")
	}
	CheckSecretRef(v, path+".secretRef", s.SecretRef, true)
	switch {
	case len(s.Tables) == 0:
		v.Add(path+".tables", "at least one table is required")
	case len(s.Tables) > MaxTables:
		v.Add(path+".tables", "must list at most %d tables, got %d", MaxTables, len(s.Tables))
	default:
		seen := map[string]bool{}
		for i, t := range s.Tables {
			tp := fmt.Sprintf("%s.tables[%d]", path, i)
			if !validTable(t) {
				v.Add(tp, "must be a qualified table name schema.table (for mysql database.table) of plain identifiers")
				continue
			}
			if seen[t] {
				v.Add(tp, "duplicate table %q", t)
			}
			seen[t] = true
		}
	}
}

func validTable(t string) bool {
	schema, table, ok := strings.Cut(t, ".")
	return ok && identRe.MatchString(schema) && identRe.MatchString(table)
}

func checkHost(v *errs.Violations, path, host string) {
	switch {
	case host == "":
		v.Add(path, "is required")
	case len(host) > 253:
		v.Add(path, "must be at most 253 characters")
	case net.ParseIP(host) == nil && !hostRe.MatchString(host):
		v.Add(path, "must be a host name or IP address")
	}
}

func (port *OutputPort) validate(v *errs.Violations, path string, tables map[string]bool) {
	CheckName(v, path+".name", port.Name)
	CheckDescription(v, path+".description", port.Description)
	if port.MajorVersion < 1 || port.MajorVersion > MaxMajorVersion {
		v.Add(path+".majorVersion", "must be between 1 and %d", MaxMajorVersion)
	}
	if port.Partitions < 1 || port.Partitions > MaxPartitions {
		v.Add(path+".partitions", "must be between 1 and %d", MaxPartitions)
	}
	if port.RetentionMs != -1 && (port.RetentionMs < MinRetentionMs || port.RetentionMs > MaxRetentionMs) {
		v.Add(path+".retentionMs", "must be -1 (keep forever) or between %d (1 minute) and %d (10 years)", MinRetentionMs, int64(MaxRetentionMs))
	}
	switch port.CleanupPolicy {
	case CleanupDelete, CleanupCompact, CleanupCompactDelete:
	default:
		v.Add(path+".cleanupPolicy", "must be delete, compact or compact,delete, got %q", port.CleanupPolicy)
	}
	switch {
	case port.Table == "":
		v.Add(path+".table", "is required when the source has more than one table")
	case !tables[port.Table]:
		v.Add(path+".table", "must be one of the source's tables, got %q", port.Table)
	}
	switch {
	case len(port.Fields) == 0:
		v.Add(path+".fields", "at least one field is required")
	case len(port.Fields) > MaxFields:
		v.Add(path+".fields", "must have at most %d fields, got %d", MaxFields, len(port.Fields))
	default:
		seen := map[string]bool{}
		for i, f := range port.Fields {
			fp := fmt.Sprintf("%s.fields[%d]", path, i)
			key := strings.ToLower(f.Name)
			if seen[key] && f.Name != "" {
				v.Add(fp+".name", "duplicate field name %q", f.Name)
			}
			seen[key] = true
			f.validate(v, fp)
		}
	}
}

func (f *Field) validate(v *errs.Violations, path string) {
	switch {
	case f.Name == "":
		v.Add(path+".name", "is required")
	case !fieldNameRe.MatchString(f.Name):
		v.Add(path+".name", "must match ^[A-Za-z_][A-Za-z0-9_]{0,127}$")
	}
	if !slices.Contains(FieldTypes, f.Type) {
		if f.Type == "" {
			v.Add(path+".type", "is required")
		} else {
			v.Add(path+".type", "unknown type %q", f.Type)
		}
	}
	CheckDescription(v, path+".description", f.Description)
	switch f.Classification {
	case ClassUnclassified, ClassNone, ClassInternal, ClassPII, ClassSensitive:
	default:
		v.Add(path+".classification", "must be none, internal, pii or sensitive, got %q", f.Classification)
	}
	if len(f.Tags) > MaxTags {
		v.Add(path+".tags", "must have at most %d tags", MaxTags)
		return
	}
	for i, t := range f.Tags {
		if !tagRe.MatchString(t) {
			v.Add(fmt.Sprintf("%s.tags[%d]", path, i), "must match ^[a-z][a-z0-9_-]{0,62}$")
		}
	}
}

func (s *Sink) validate(v *errs.Violations, path string, ports map[string]OutputPort) {
	CheckName(v, path+".name", s.Name)
	for i, p := range s.Ports {
		if _, ok := ports[p]; !ok {
			v.Add(fmt.Sprintf("%s.ports[%d]", path, i), "unknown output port %q", p)
		}
	}
	switch s.Kind() {
	case SinkBigQuery:
		b := s.BigQuery
		p := path + ".bigquery"
		if !gcpRe.MatchString(b.Project) {
			v.Add(p+".project", "is required: a Google Cloud project id (6 to 30 lower-case letters, digits and '-')")
		}
		if !datasetRe.MatchString(b.Dataset) {
			v.Add(p+".dataset", "is required: letters, digits and '_'")
		}
		CheckSecretRef(v, p+".credentialsRef", b.CredentialsRef, true)
	case SinkS3:
		b := s.S3
		p := path + ".s3"
		if !bucketRe.MatchString(b.Bucket) || strings.Contains(b.Bucket, "..") {
			v.Add(p+".bucket", "is required: a valid S3 bucket name")
		}
		if !regionRe.MatchString(b.Region) {
			v.Add(p+".region", "is required: an AWS region such as eu-west-1")
		}
		if !prefixRe.MatchString(b.Prefix) || strings.Contains(b.Prefix, "..") || strings.HasPrefix(b.Prefix, "/") {
			v.Add(p+".prefix", "must be a relative object key prefix without '..'")
		}
		if !slices.Contains([]string{"parquet", "json", "avro"}, b.Format) {
			v.Add(p+".format", "must be parquet, json or avro, got %q", b.Format)
		}
		if b.FlushSize < 1 || b.FlushSize > 1_000_000 {
			v.Add(p+".flushSize", "must be between 1 and 1000000")
		}
		if b.RotateIntervalMs < 1000 || b.RotateIntervalMs > 7*24*3600*1000 {
			v.Add(p+".rotateIntervalMs", "must be between 1000 (1 second) and 604800000 (7 days)")
		}
		CheckSecretRef(v, p+".credentialsRef", b.CredentialsRef, false)
	case SinkJDBC:
		b := s.JDBC
		p := path + ".jdbc"
		n := v.Len()
		checkURL(v, p+".url", b.URL, jdbcURLRe, "a JDBC URL such as jdbc:postgresql://host:5432/db")
		if v.Len() == n {
			checkDriverHooks(v, p+".url", b.URL)
		}
		switch {
		case b.Username == "":
			v.Add(p+".username", "is required")
		case !userRe.MatchString(b.Username):
			v.Add(p+".username", "must be letters, digits, '_', '.', '@' or '-'")
		}
		CheckSecretRef(v, p+".secretRef", b.SecretRef, true)
		if !slices.Contains([]string{"insert", "upsert", "update"}, b.InsertMode) {
			v.Add(p+".insertMode", "must be insert, upsert or update, got %q", b.InsertMode)
		}
		if b.DeleteEnabled && b.InsertMode == "insert" {
			v.Add(p+".deleteEnabled", "needs insertMode upsert or update: deletes are applied by primary key")
		}
		for i, k := range b.PrimaryKeyFields {
			if !sinkHasField(s, ports, k) {
				v.Add(fmt.Sprintf("%s.primaryKeyFields[%d]", p, i), "field %q is not in the delivered ports' schemas", k)
			}
		}
	case SinkElasticsearch:
		b := s.Elasticsearch
		p := path + ".elasticsearch"
		checkURL(v, p+".url", b.URL, regexp.MustCompile(`^https?://`), "an http(s) URL")
		if b.Username != "" && !userRe.MatchString(b.Username) {
			v.Add(p+".username", "must be letters, digits, '_', '.', '@' or '-'")
		}
		CheckSecretRef(v, p+".secretRef", b.SecretRef, b.Username != "")
		if b.IndexPrefix != "" && !nameRe.MatchString(b.IndexPrefix) {
			v.Add(p+".indexPrefix", "must match ^[a-z][a-z0-9-]{1,62}$")
		}
	default:
		v.Add(path, "exactly one sink kind must be set: bigquery, s3, jdbc or elasticsearch")
	}
}

func sinkHasField(s *Sink, ports map[string]OutputPort, field string) bool {
	names := s.Ports
	if len(names) == 0 {
		for n := range ports {
			names = append(names, n)
		}
	}
	for _, n := range names {
		for _, f := range ports[n].Fields {
			if f.Name == field {
				return true
			}
		}
	}
	return false
}

// checkURL refuses URLs that carry credentials: secrets travel by reference only.
func checkURL(v *errs.Violations, path, raw string, scheme *regexp.Regexp, want string) {
	if raw == "" {
		v.Add(path, "is required: %s", want)
		return
	}
	if len(raw) > 2048 || !scheme.MatchString(raw) || strings.ContainsAny(raw, " \t\r\n\"'`${}\\") ||
		strings.ContainsFunc(raw, func(r rune) bool { return r < '!' || r > '~' }) {
		v.Add(path, "must be %s", want)
		return
	}
	u, err := url.Parse(strings.TrimPrefix(strings.TrimPrefix(raw, "jdbc:"), "oracle:thin:"))
	if err != nil || u.Host == "" {
		v.Add(path, "must be %s", want)
		return
	}
	if u.User != nil {
		v.Add(path, "must not embed credentials: use username and secretRef")
		return
	}
	// Drivers percent-decode properties, so look for credentials in both forms.
	decoded, err := url.PathUnescape(raw)
	if err != nil {
		v.Add(path, "must be %s", want)
		return
	}
	lower := strings.ToLower(raw + " " + decoded)
	for _, k := range []string{"password", "passwd", "pwd=", "secret", "token="} {
		if strings.Contains(lower, k) {
			v.Add(path, "must not embed credentials: use username and secretRef")
			return
		}
	}
}

// driverHooks are fragments of JDBC driver properties that make the Connect
// worker load a class, run a JNDI lookup or read and send local files (for
// example socketFactory, sslhostnameverifier, allowLoadLocalInfile,
// autoDeserialize, queryInterceptors, authenticationPlugins).
var driverHooks = []string{"factory", "interceptor", "callback", "classname", "hostnameverifier", "plugin",
	"localinfile", "autodeserialize", "loggerfile", "jndi", "propertiestransform", "clientinfoprovider",
	"exceptionchecker", "trustmanagerclass"}

// checkDriverHooks refuses JDBC URLs setting driver properties that run code
// or read files on the worker that connects.
func checkDriverHooks(v *errs.Violations, path, raw string) {
	decoded, _ := url.PathUnescape(raw)
	lower := strings.ToLower(raw + " " + decoded)
	for _, k := range driverHooks {
		if strings.Contains(lower, k) {
			v.Add(path, "must not set driver properties that load classes or local files (%s)", k)
			return
		}
	}
}
