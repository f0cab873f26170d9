package connectemu

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Bodies of the worker's REST entities (org.apache.kafka.connect.runtime.rest.entities).
type (
	serverInfo struct {
		Version        string `json:"version"`
		Commit         string `json:"commit"`
		KafkaClusterID string `json:"kafka_cluster_id"`
	}
	errorMessage struct {
		ErrorCode int    `json:"error_code"`
		Message   string `json:"message"`
	}
	createRequest struct {
		Name   string          `json:"name"`
		Config json.RawMessage `json:"config"`
	}
	taskID struct {
		Connector string `json:"connector"`
		Task      int    `json:"task"`
	}
	connectorInfo struct {
		Name   string            `json:"name"`
		Config map[string]string `json:"config"`
		Tasks  []taskID          `json:"tasks"`
		Type   string            `json:"type"`
	}
	taskInfo struct {
		ID     taskID            `json:"id"`
		Config map[string]string `json:"config"`
	}
	stateInfo struct {
		State    string `json:"state"`
		WorkerID string `json:"worker_id"`
		Trace    string `json:"trace,omitempty"`
	}
	taskState struct {
		ID       int    `json:"id"`
		State    string `json:"state"`
		WorkerID string `json:"worker_id"`
		Trace    string `json:"trace,omitempty"`
		// Lag is meshplane's addition for connectors that move data.
		Lag *Lag `json:"lag,omitempty"`
	}
	connectorStatus struct {
		Name      string      `json:"name"`
		Connector stateInfo   `json:"connector"`
		Tasks     []taskState `json:"tasks"`
		Type      string      `json:"type"`
	}
)

// maxBody bounds request bodies; connector configs are small.
const maxBody = 1 << 20

// Handler serves the emulated worker REST API.
func (e *Emulator) Handler() http.Handler {
	mux := http.NewServeMux()
	routes := []struct {
		path    string
		methods map[string]http.HandlerFunc
	}{
		{"/{$}", map[string]http.HandlerFunc{http.MethodGet: e.serverInfo}},
		{"/connectors", map[string]http.HandlerFunc{http.MethodGet: e.listConnectors, http.MethodPost: e.createConnector}},
		{"/connectors/{name}", map[string]http.HandlerFunc{http.MethodGet: e.getConnector, http.MethodDelete: e.deleteConnector}},
		{"/connectors/{name}/config", map[string]http.HandlerFunc{http.MethodGet: e.getConfig, http.MethodPut: e.putConfig}},
		{"/connectors/{name}/status", map[string]http.HandlerFunc{http.MethodGet: e.getStatus}},
		{"/connectors/{name}/tasks", map[string]http.HandlerFunc{http.MethodGet: e.getTasks}},
		{"/connectors/{name}/tasks/{task}/status", map[string]http.HandlerFunc{http.MethodGet: e.getTaskStatus}},
		{"/connectors/{name}/tasks/{task}/restart", map[string]http.HandlerFunc{http.MethodPost: e.restartTask}},
		{"/connectors/{name}/topics", map[string]http.HandlerFunc{http.MethodGet: e.getTopics}},
		{"/connectors/{name}/restart", map[string]http.HandlerFunc{http.MethodPost: e.restartConnector}},
		{"/connectors/{name}/pause", map[string]http.HandlerFunc{http.MethodPut: e.setState(statePaused, http.StatusAccepted)}},
		{"/connectors/{name}/resume", map[string]http.HandlerFunc{http.MethodPut: e.setState(stateRunning, http.StatusAccepted)}},
		{"/connectors/{name}/stop", map[string]http.HandlerFunc{http.MethodPut: e.setState(stateStopped, http.StatusNoContent)}},
		{"/connector-plugins", map[string]http.HandlerFunc{http.MethodGet: e.listPlugins}},
		{"/connector-plugins/{plugin}/config", map[string]http.HandlerFunc{http.MethodGet: e.pluginConfig}},
		{"/connector-plugins/{plugin}/config/validate", map[string]http.HandlerFunc{http.MethodPut: e.validatePlugin}},
	}
	for _, r := range routes {
		for method, h := range r.methods {
			mux.HandleFunc(method+" "+r.path, h)
		}
		mux.HandleFunc(r.path, func(w http.ResponseWriter, _ *http.Request) {
			writeError(w, http.StatusMethodNotAllowed, "HTTP 405 Method Not Allowed")
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "HTTP 404 Not Found")
	})
	if e.cfg.Username == "" {
		return mux
	}
	return e.basicAuth(mux)
}

func (e *Emulator) basicAuth(next http.Handler) http.Handler {
	wantUser, wantPass := []byte(e.cfg.Username), []byte(e.cfg.Password)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		userOK := subtle.ConstantTimeCompare([]byte(user), wantUser) == 1
		passOK := subtle.ConstantTimeCompare([]byte(pass), wantPass) == 1
		if !ok || !userOK || !passOK {
			w.Header().Set("WWW-Authenticate", `Basic realm="kafka-connect"`)
			writeError(w, http.StatusUnauthorized, "User cannot access the resource.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (e *Emulator) serverInfo(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, serverInfo{Version: workerVersion, Commit: workerCommit, KafkaClusterID: e.cfg.KafkaClusterID})
}

func (e *Emulator) listConnectors(w http.ResponseWriter, r *http.Request) {
	expand := r.URL.Query()["expand"]
	e.mu.Lock()
	defer e.mu.Unlock()
	names := slices.Sorted(maps.Keys(e.connectors))
	if len(expand) == 0 {
		if names == nil {
			names = []string{} // a worker with no connectors answers [], not null
		}
		writeJSON(w, http.StatusOK, names)
		return
	}
	out := make(map[string]map[string]any, len(names))
	for _, name := range names {
		cn := e.connectors[name]
		item := map[string]any{}
		if slices.Contains(expand, "status") {
			item["status"] = e.statusLocked(cn)
		}
		if slices.Contains(expand, "info") {
			item["info"] = infoOf(cn)
		}
		out[name] = item
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *Emulator) createConnector(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	if err := decodeBody(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	config, err := decodeConfig(req.Config)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	name := strings.TrimSpace(req.Name)
	if msg, ok := putName(name, config); !ok {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	if code, msg, ok := e.check(config); !ok {
		writeError(w, code, msg)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, exists := e.connectors[name]; exists {
		writeError(w, http.StatusConflict, "Connector "+name+" already exists")
		return
	}
	cn := &connector{Name: name, Config: config, State: stateRunning, Created: time.Now().UTC()}
	e.connectors[name] = cn
	if err := e.persistLocked(); err != nil {
		delete(e.connectors, name)
		e.cfg.Logger.Error("saving connectors failed", "err", err)
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	e.syncLocked(cn)
	e.cfg.Logger.Info("connector created", "connector", name, "class", config["connector.class"])
	w.Header().Set("Location", "/connectors/"+name)
	writeJSON(w, http.StatusCreated, infoOf(cn))
}

// readConfig decodes a request body holding a bare connector config,
// answering 400 itself when it cannot.
func readConfig(w http.ResponseWriter, r *http.Request) (map[string]string, bool) {
	var raw json.RawMessage
	if err := decodeBody(r, &raw); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return nil, false
	}
	config, err := decodeConfig(raw)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return nil, false
	}
	return config, true
}

func (e *Emulator) putConfig(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	config, ok := readConfig(w, r)
	if !ok {
		return
	}
	if msg, ok := putName(name, config); !ok {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	if code, msg, ok := e.check(config); !ok {
		writeError(w, code, msg)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	prev, existed := e.connectors[name]
	cn := &connector{Name: name, Config: config, State: stateRunning, Created: time.Now().UTC()}
	if existed {
		cn.State, cn.Created = prev.State, prev.Created
	}
	e.connectors[name] = cn
	if err := e.persistLocked(); err != nil {
		if existed {
			e.connectors[name] = prev
		} else {
			delete(e.connectors, name)
		}
		e.cfg.Logger.Error("saving connectors failed", "err", err)
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if existed && e.runs(prev) && !e.runs(cn) {
		e.cfg.Runner.Stop(name, true)
	}
	e.syncLocked(cn)
	status := http.StatusOK
	if !existed {
		status = http.StatusCreated
		w.Header().Set("Location", "/connectors/"+name)
	}
	e.cfg.Logger.Info("connector configured", "connector", name, "class", config["connector.class"], "created", !existed)
	writeJSON(w, status, infoOf(cn))
}

// check validates config like a worker before it accepts a connector.
func (e *Emulator) check(config map[string]string) (code int, msg string, ok bool) {
	infos, msg, ok := e.Validate(config)
	if !ok {
		return http.StatusBadRequest, msg, false
	}
	if infos.ErrorCount > 0 {
		return http.StatusBadRequest, invalidConfigMessage(infos), false
	}
	return 0, "", true
}

// putName sets config["name"] from the request, or rejects a config naming a
// different connector (ConnectorsResource.checkAndPutConnectorConfigName).
func putName(name string, config map[string]string) (string, bool) {
	if included, ok := config["name"]; ok && included != name {
		return fmt.Sprintf("Connector name configuration (%s) doesn't match connector name in the URL (%s)", included, name), false
	}
	config["name"] = name
	return "", true
}

func (e *Emulator) getConnector(w http.ResponseWriter, r *http.Request) {
	e.withConnector(w, r, func(cn *connector) { writeJSON(w, http.StatusOK, infoOf(cn)) })
}

func (e *Emulator) getConfig(w http.ResponseWriter, r *http.Request) {
	e.withConnector(w, r, func(cn *connector) { writeJSON(w, http.StatusOK, cn.Config) })
}

func (e *Emulator) getStatus(w http.ResponseWriter, r *http.Request) {
	e.withConnector(w, r, func(cn *connector) { writeJSON(w, http.StatusOK, e.statusLocked(cn)) })
}

func (e *Emulator) getTasks(w http.ResponseWriter, r *http.Request) {
	e.withConnector(w, r, func(cn *connector) {
		tasks := make([]taskInfo, cn.taskCount())
		for i := range tasks {
			tasks[i] = taskInfo{ID: taskID{Connector: cn.Name, Task: i}, Config: cn.Config}
		}
		writeJSON(w, http.StatusOK, tasks)
	})
}

func (e *Emulator) getTaskStatus(w http.ResponseWriter, r *http.Request) {
	e.withTask(w, r, func(cn *connector, task int) {
		writeJSON(w, http.StatusOK, e.statusLocked(cn).Tasks[task])
	})
}

func (e *Emulator) restartTask(w http.ResponseWriter, r *http.Request) {
	e.withTask(w, r, func(cn *connector, _ int) {
		e.syncLocked(cn)
		w.WriteHeader(http.StatusNoContent)
	})
}

// getTopics reports the connector's active topics: those its run read or
// wrote, and none for a validate-only connector, which moves no data.
func (e *Emulator) getTopics(w http.ResponseWriter, r *http.Request) {
	e.withConnector(w, r, func(cn *connector) {
		topics := []string{}
		if e.runs(cn) {
			topics = append(topics, e.cfg.Runner.Topics(cn.Name)...)
		}
		writeJSON(w, http.StatusOK, map[string]map[string][]string{cn.Name: {"topics": topics}})
	})
}

func (e *Emulator) restartConnector(w http.ResponseWriter, r *http.Request) {
	e.withConnector(w, r, func(cn *connector) {
		q := r.URL.Query()
		// A connector with one task restarts as a whole; onlyFailed leaves
		// a run that has not failed alone.
		if st := e.statusLocked(cn); q.Get("onlyFailed") != "true" || len(st.Tasks) > 0 && st.Tasks[0].State == stateFailed {
			e.syncLocked(cn)
		}
		if q.Get("includeTasks") == "true" || q.Get("onlyFailed") == "true" {
			writeJSON(w, http.StatusAccepted, e.statusLocked(cn))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func (e *Emulator) setState(state string, code int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e.withConnector(w, r, func(cn *connector) {
			prev := cn.State
			cn.State = state
			if err := e.persistLocked(); err != nil {
				cn.State = prev
				e.cfg.Logger.Error("saving connectors failed", "err", err)
				writeError(w, http.StatusInternalServerError, err.Error())
				return
			}
			if prev != state {
				e.syncLocked(cn)
			}
			w.WriteHeader(code)
		})
	}
}

func (e *Emulator) deleteConnector(w http.ResponseWriter, r *http.Request) {
	e.withConnector(w, r, func(cn *connector) {
		delete(e.connectors, cn.Name)
		if err := e.persistLocked(); err != nil {
			e.connectors[cn.Name] = cn
			e.cfg.Logger.Error("saving connectors failed", "err", err)
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		if e.runs(cn) {
			e.cfg.Runner.Stop(cn.Name, true)
		}
		e.cfg.Logger.Info("connector deleted", "connector", cn.Name)
		w.WriteHeader(http.StatusNoContent)
	})
}

// withConnector runs fn with e.mu held and the named connector, or answers 404.
func (e *Emulator) withConnector(w http.ResponseWriter, r *http.Request, fn func(*connector)) {
	name := r.PathValue("name")
	e.mu.Lock()
	defer e.mu.Unlock()
	cn, ok := e.connectors[name]
	if !ok {
		writeError(w, http.StatusNotFound, "Connector "+name+" not found")
		return
	}
	fn(cn)
}

func (e *Emulator) withTask(w http.ResponseWriter, r *http.Request, fn func(*connector, int)) {
	e.withConnector(w, r, func(cn *connector) {
		task, err := strconv.Atoi(r.PathValue("task"))
		if err != nil || task < 0 || task >= cn.taskCount() {
			writeError(w, http.StatusNotFound, fmt.Sprintf("Task %s-%s not found", cn.Name, r.PathValue("task")))
			return
		}
		fn(cn, task)
	})
}

func infoOf(cn *connector) connectorInfo {
	tasks := make([]taskID, cn.taskCount())
	for i := range tasks {
		tasks[i] = taskID{Connector: cn.Name, Task: i}
	}
	return connectorInfo{Name: cn.Name, Config: cn.Config, Tasks: tasks, Type: cn.kind()}
}

// statusLocked reports the connector as a worker would. A connector the
// Runner serves reports its run's state, error trace and lag; any other
// carries Note as its trace so no reader mistakes it for a running
// connector. e.mu is held.
func (e *Emulator) statusLocked(cn *connector) connectorStatus {
	// A validate-only connector's task reports the connector's state with
	// Note; a run's task reports the run, and as on a worker a failed task
	// leaves its connector RUNNING.
	connTrace, task := Note, RunStatus{State: cn.State, Trace: Note}
	if e.runs(cn) {
		connTrace, task = "", RunStatus{State: cn.State}
		if cn.State == stateRunning {
			task = e.cfg.Runner.Status(cn.Name)
		}
	}
	st := connectorStatus{
		Name:      cn.Name,
		Connector: stateInfo{State: cn.State, WorkerID: e.cfg.WorkerID, Trace: connTrace},
		Tasks:     make([]taskState, cn.taskCount()),
		Type:      cn.kind(),
	}
	for i := range st.Tasks {
		st.Tasks[i] = taskState{ID: i, State: task.State, WorkerID: e.cfg.WorkerID, Trace: task.Trace, Lag: task.Lag}
	}
	return st
}

func (e *Emulator) listPlugins(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, Plugins())
}

// pluginConfig lists a connector's own setting definitions
// (GET /connector-plugins/{plugin}/config, KIP-769).
func (e *Emulator) pluginConfig(w http.ResponseWriter, r *http.Request) {
	p := lookupPlugin(r.PathValue("plugin"))
	if p == nil {
		writeError(w, http.StatusNotFound, "Unknown plugin "+r.PathValue("plugin")+".")
		return
	}
	infos := validateConfig(p, map[string]string{"connector.class": p.class})
	out := []*ConfigKeyInfo{}
	for _, s := range p.settings {
		for _, c := range infos.Configs {
			if c.Definition != nil && c.Definition.Name == s.name {
				out = append(out, c.Definition)
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *Emulator) validatePlugin(w http.ResponseWriter, r *http.Request) {
	pluginName := r.PathValue("plugin")
	config, ok := readConfig(w, r)
	if !ok {
		return
	}
	// ConnectorPluginsResource.validateConfigs.
	if included, ok := config["connector.class"]; ok && !strings.HasSuffix(normalizedPluginName(included), normalizedPluginName(pluginName)) {
		writeError(w, http.StatusBadRequest, "Included connector type "+included+" does not match request type "+pluginName)
		return
	}
	if _, ok := config["connector.class"]; !ok {
		config["connector.class"] = pluginName
	}
	infos, msg, ok := e.Validate(config)
	if !ok {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	writeJSON(w, http.StatusOK, infos)
}

// normalizedPluginName drops a "Connector" suffix, as
// ConnectorPluginsResource.normalizedPluginName does.
func normalizedPluginName(name string) string {
	return strings.TrimSuffix(strings.TrimSpace(name), "Connector")
}

func decodeBody(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return fmt.Errorf("reading request body: %w", err)
	}
	if len(body) > maxBody {
		return fmt.Errorf("request body exceeds %d bytes", maxBody)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("cannot deserialize request body: %v", err)
	}
	return nil
}

// decodeConfig reads a config map. A worker's Map<String, String> accepts
// JSON numbers and booleans as their text; null and nested values are errors.
func decodeConfig(raw json.RawMessage) (map[string]string, error) {
	config := map[string]string{}
	if len(raw) == 0 || string(raw) == "null" {
		return config, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("cannot deserialize connector config: %v", err)
	}
	for k, v := range m {
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			config[k] = s
			continue
		}
		switch t := strings.TrimSpace(string(v)); {
		case t == "true" || t == "false":
			config[k] = t
		case json.Valid(v) && t != "" && (t[0] == '-' || (t[0] >= '0' && t[0] <= '9')):
			config[k] = t
		default:
			return nil, fmt.Errorf("cannot deserialize value of config %q: expected a string", k)
		}
	}
	return config, nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorMessage{ErrorCode: code, Message: msg})
}
