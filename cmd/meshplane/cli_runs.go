package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
)

// runFlags parses a run command's flags; positional arguments come first.
func runFlags(name string, args []string, stderr io.Writer, positional int, extra func(*flag.FlagSet)) (*clientConfig, []string, error) {
	if len(args) < positional || (positional > 0 && strings.HasPrefix(args[0], "-")) {
		return nil, nil, failed("usage: meshplane %s", usageOf[name])
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &clientConfig{}
	c.register(fs, "")
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args[positional:]); err != nil {
		return nil, nil, exitCode{code: exitFailed}
	}
	return c, args[:positional], nil
}

var usageOf = map[string]string{
	"plan":           "plan DOMAIN/NAME [--env ENVIRONMENT] [--wait=false]",
	"promote":        "promote DOMAIN/NAME --from ENVIRONMENT --to ENVIRONMENT [--wait=false]",
	"approve":        "approve RUN_ID [--confirm-destructive] [--wait=false]",
	"watch":          "watch RUN_ID",
	"request-access": "request-access --consumer SERVICE_ACCOUNT --port DOMAIN/PRODUCT/PORT [--port …] --purpose TEXT [--duration 720h] [--env ENV]",
}

// planCmd queues a plan of a product and, unless --wait=false, shows it
// once it is ready for review.
func planCmd(args []string, stdout, stderr io.Writer) error {
	var wait *bool
	var envName *string
	c, pos, err := runFlags("plan", args, stderr, 1, func(fs *flag.FlagSet) {
		wait = fs.Bool("wait", true, "wait for the plan and show it")
		envName = fs.String("env", "", "the environment to plan in (default: the server's default environment)")
	})
	if err != nil {
		return err
	}
	a, dom, name, err := c.connectFor(pos[0])
	if err != nil {
		return err
	}
	ctx := context.Background()
	res, err := a.provision.Plan(ctx, connect.NewRequest(&v1.PlanRequest{Domain: dom, Product: name, Environment: *envName}))
	if err != nil {
		return failed("%s", message(err))
	}
	return queued(ctx, a, res.Msg.GetRun(), *wait, stdout)
}

// queued reports a queued run and, with wait, shows its plan once ready.
func queued(ctx context.Context, a *api, run *v1.Run, wait bool, stdout io.Writer) error {
	fmt.Fprintf(stdout, "run %s queued in %s\n", run.GetId(), run.GetEnvironment())
	if !wait {
		return nil
	}
	run, err := follow(ctx, a, run.GetId(), stdout, false)
	if err != nil {
		return err
	}
	return reportRun(stdout, run)
}

// promoteCmd plans a product in one environment at the version applied in
// another and, unless --wait=false, shows the plan once ready for review.
func promoteCmd(args []string, stdout, stderr io.Writer) error {
	var wait *bool
	var from, to *string
	c, pos, err := runFlags("promote", args, stderr, 1, func(fs *flag.FlagSet) {
		wait = fs.Bool("wait", true, "wait for the plan and show it")
		from = fs.String("from", "", "the environment the product's current version is applied in")
		to = fs.String("to", "", "the environment to plan it in")
	})
	if err != nil {
		return err
	}
	a, dom, name, err := c.connectFor(pos[0])
	if err != nil {
		return err
	}
	ctx := context.Background()
	res, err := a.provision.Promote(ctx, connect.NewRequest(&v1.PromoteRequest{Domain: dom, Product: name, From: *from, To: *to}))
	if err != nil {
		return failed("%s", message(err))
	}
	return queued(ctx, a, res.Msg.GetRun(), *wait, stdout)
}

// approveCmd applies a planned run and, unless --wait=false, streams its
// log until it settles.
func approveCmd(args []string, stdout, stderr io.Writer) error {
	var wait, confirm *bool
	c, pos, err := runFlags("approve", args, stderr, 1, func(fs *flag.FlagSet) {
		wait = fs.Bool("wait", true, "stream the apply's log until it settles")
		confirm = fs.Bool("confirm-destructive", false, "approve a plan that deletes data")
	})
	if err != nil {
		return err
	}
	a, err := c.connect()
	if err != nil {
		return err
	}
	ctx := context.Background()
	res, err := a.provision.ApproveRun(ctx, connect.NewRequest(&v1.ApproveRunRequest{Id: pos[0], ConfirmDestructive: *confirm}))
	if err != nil {
		return failed("%s", message(err))
	}
	if r := res.Msg.GetRun(); r.GetState() == v1.RunState_RUN_STATE_PLANNED {
		// One approval of several: the run waits for the others.
		need := waitingFor(r)
		if len(need) == 0 && r.GetDestructive() {
			need = []string{"someone allowed to approve destructive plans in " + r.GetEnvironment()}
		}
		fmt.Fprintf(stdout, "run %s: approval recorded; it still waits for %s\n", pos[0], strings.Join(need, " and "))
		return nil
	}
	fmt.Fprintf(stdout, "run %s approved\n", pos[0])
	if !*wait {
		return nil
	}
	run, err := follow(ctx, a, pos[0], stdout, true)
	if err != nil {
		return err
	}
	return reportRun(stdout, run)
}

// watchCmd streams a run's log and states until it settles.
func watchCmd(args []string, stdout, stderr io.Writer) error {
	c, pos, err := runFlags("watch", args, stderr, 1, nil)
	if err != nil {
		return err
	}
	a, err := c.connect()
	if err != nil {
		return err
	}
	run, err := follow(context.Background(), a, pos[0], stdout, true)
	if err != nil {
		return err
	}
	return reportRun(stdout, run)
}

// follow streams run id's states (and, with lines, its log) until it
// settles, and returns it as it ended.
func follow(ctx context.Context, a *api, id string, w io.Writer, lines bool) (*v1.Run, error) {
	stream, err := a.provision.WatchRun(ctx, connect.NewRequest(&v1.WatchRunRequest{Id: id}))
	if err != nil {
		return nil, failed("%s", message(err))
	}
	for stream.Receive() {
		u := stream.Msg()
		switch {
		case u.GetLine() != "" && lines:
			fmt.Fprintln(w, "  "+u.GetLine())
		case u.GetState() != v1.RunState_RUN_STATE_UNSPECIFIED:
			fmt.Fprintf(w, "%s  %s\n", time.Now().Format("15:04:05"), stateWord(u.GetState()))
		}
	}
	if err := stream.Err(); err != nil && !errors.Is(err, io.EOF) {
		return nil, failed("watching run %s: %s", id, message(err))
	}
	res, err := a.provision.GetRun(ctx, connect.NewRequest(&v1.GetRunRequest{Id: id}))
	if err != nil {
		return nil, failed("%s", message(err))
	}
	return res.Msg.GetRun(), nil
}

func stateWord(s v1.RunState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "RUN_STATE_"))
}

// reportRun says how a run ended; a failed, cancelled or interrupted run
// exits 2.
func reportRun(w io.Writer, r *v1.Run) error {
	s := r.GetSummary()
	switch r.GetState() {
	case v1.RunState_RUN_STATE_PLANNED:
		fmt.Fprintf(w, "planned: %d to add, %d to change, %d to replace, %d to delete", s.GetCreate(), s.GetUpdate(), s.GetReplace(), s.GetDelete())
		if r.GetDestructive() {
			fmt.Fprintf(w, " — destructive: %s", strings.Join(s.GetReasons(), "; "))
		}
		fmt.Fprintln(w)
		for _, rc := range s.GetResources() {
			fmt.Fprintf(w, "  %s %s\n", rc.GetAction(), rc.GetAddress())
		}
		if need := waitingFor(r); len(need) > 0 {
			fmt.Fprintf(w, "environment %s needs the approval of %s\n", r.GetEnvironment(), strings.Join(need, " and "))
		}
		approve := "meshplane approve " + r.GetId()
		if r.GetDestructive() {
			approve += " --confirm-destructive"
		}
		fmt.Fprintf(w, "review it, then: %s\n", approve)
		return nil
	case v1.RunState_RUN_STATE_APPLIED:
		fmt.Fprintln(w, "applied")
		return nil
	}
	return exitCode{code: exitFailed, msg: fmt.Sprintf("run %s ended %s: %s", r.GetId(), stateWord(r.GetState()), r.GetError())}
}

// requestAccessCmd files an access request for a service account.
func requestAccessCmd(args []string, stdout, stderr io.Writer) error {
	var consumer, purpose, envName *string
	var duration *time.Duration
	var ports fileList
	c, _, err := runFlags("request-access", args, stderr, 0, func(fs *flag.FlagSet) {
		consumer = fs.String("consumer", "", "the service account that will read")
		purpose = fs.String("purpose", "", "why it needs the data (shown to the approvers)")
		duration = fs.Duration("duration", 30*24*time.Hour, "how long the grant lasts")
		fs.Var(&ports, "port", "DOMAIN/PRODUCT/PORT to read (repeatable)")
		envName = fs.String("env", "", "the environment to read in (default: the one marked for access)")
	})
	if err != nil {
		return err
	}
	req := &v1.RequestAccessRequest{Consumer: *consumer, Purpose: *purpose, DurationSeconds: int64(duration.Seconds()), Environment: *envName}
	for _, p := range ports {
		parts := strings.Split(p, "/")
		if len(parts) != 3 {
			return failed("--port must be DOMAIN/PRODUCT/PORT, got %q", p)
		}
		req.Ports = append(req.Ports, &v1.PortRef{Domain: parts[0], Product: parts[1], Port: parts[2]})
	}
	a, err := c.connect()
	if err != nil {
		return err
	}
	res, err := a.access.RequestAccess(context.Background(), connect.NewRequest(req))
	if err != nil {
		var b strings.Builder
		for _, v := range fieldErrors(err) {
			fmt.Fprintf(&b, "\n  %s: %s", v.GetField(), v.GetDescription())
		}
		return failed("%s%s", message(err), b.String())
	}
	r := res.Msg.GetAccessRequest()
	fmt.Fprintf(stdout, "access request %s in %s: %s", r.GetId(), r.GetEnvironment(), strings.ToLower(strings.TrimPrefix(r.GetState().String(), "ACCESS_REQUEST_STATE_")))
	if len(r.GetAwaiting()) > 0 {
		fmt.Fprintf(stdout, ", awaiting %s", strings.Join(r.GetAwaiting(), " and "))
	}
	fmt.Fprintln(stdout)
	return nil
}

// waitingFor names the approvals a planned run still needs.
func waitingFor(r *v1.Run) []string {
	var out []string
	for _, a := range r.GetApprovers() {
		done := false
		for _, got := range r.GetApprovals() {
			done = done || got.GetRole() == a.GetRole()
		}
		if !done {
			out = append(out, fmt.Sprintf("a %s (%s)", a.GetRole(), a.GetReason()))
		}
	}
	return out
}

// connectFor connects to the server for a command on product arg, named
// DOMAIN/NAME.
func (c *clientConfig) connectFor(arg string) (*api, string, string, error) {
	dom, name, ok := strings.Cut(arg, "/")
	if !ok {
		return nil, "", "", failed("name the product as DOMAIN/NAME, got %q", arg)
	}
	a, err := c.connect()
	return a, dom, name, err
}
