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
	"plan":           "plan DOMAIN/NAME [--wait=false]",
	"approve":        "approve RUN_ID [--confirm-destructive] [--wait=false]",
	"watch":          "watch RUN_ID",
	"request-access": "request-access --consumer SERVICE_ACCOUNT --port DOMAIN/PRODUCT/PORT [--port …] --purpose TEXT [--duration 720h]",
}

// planCmd queues a plan of a product and, unless --wait=false, shows it
// once it is ready for review.
func planCmd(args []string, stdout, stderr io.Writer) error {
	var wait *bool
	c, pos, err := runFlags("plan", args, stderr, 1, func(fs *flag.FlagSet) { wait = fs.Bool("wait", true, "wait for the plan and show it") })
	if err != nil {
		return err
	}
	dom, name, ok := strings.Cut(pos[0], "/")
	if !ok {
		return failed("name the product as DOMAIN/NAME, got %q", pos[0])
	}
	a, err := c.connect()
	if err != nil {
		return err
	}
	ctx := context.Background()
	res, err := a.provision.Plan(ctx, connect.NewRequest(&v1.PlanRequest{Domain: dom, Product: name}))
	if err != nil {
		return failed("%s", message(err))
	}
	run := res.Msg.GetRun()
	fmt.Fprintf(stdout, "run %s queued\n", run.GetId())
	if !*wait {
		return nil
	}
	run, err = follow(ctx, a, run.GetId(), stdout, false)
	if err != nil {
		return err
	}
	return reportRun(stdout, run)
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
	if _, err := a.provision.ApproveRun(ctx, connect.NewRequest(&v1.ApproveRunRequest{Id: pos[0], ConfirmDestructive: *confirm})); err != nil {
		return failed("%s", message(err))
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
	var consumer, purpose *string
	var duration *time.Duration
	var ports fileList
	c, _, err := runFlags("request-access", args, stderr, 0, func(fs *flag.FlagSet) {
		consumer = fs.String("consumer", "", "the service account that will read")
		purpose = fs.String("purpose", "", "why it needs the data (shown to the approvers)")
		duration = fs.Duration("duration", 30*24*time.Hour, "how long the grant lasts")
		fs.Var(&ports, "port", "DOMAIN/PRODUCT/PORT to read (repeatable)")
	})
	if err != nil {
		return err
	}
	req := &v1.RequestAccessRequest{Consumer: *consumer, Purpose: *purpose, DurationSeconds: int64(duration.Seconds())}
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
	fmt.Fprintf(stdout, "access request %s: %s", r.GetId(), strings.ToLower(strings.TrimPrefix(r.GetState().String(), "ACCESS_REQUEST_STATE_")))
	if len(r.GetAwaiting()) > 0 {
		fmt.Fprintf(stdout, ", awaiting %s", strings.Join(r.GetAwaiting(), " and "))
	}
	fmt.Fprintln(stdout)
	return nil
}
