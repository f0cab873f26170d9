package rpc

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/meshplane/meshplane/api/gen/meshplane/v1"
	"github.com/meshplane/meshplane/api/gen/meshplane/v1/meshplanev1connect"
	"github.com/meshplane/meshplane/server/events"
)

// EventsHandler serves meshplane.v1.EventsService.
type EventsHandler struct{ svc *events.Service }

var _ meshplanev1connect.EventsServiceHandler = (*EventsHandler)(nil)

var deliveryStates = enumMap[v1.DeliveryState]{
	v1.DeliveryState_DELIVERY_STATE_UNSPECIFIED: "",
	v1.DeliveryState_DELIVERY_STATE_PENDING:     "pending",
	v1.DeliveryState_DELIVERY_STATE_DELIVERED:   "delivered",
	v1.DeliveryState_DELIVERY_STATE_FAILED:      "failed",
}

func (h *EventsHandler) CreateWebhook(ctx context.Context, req *connect.Request[v1.CreateWebhookRequest]) (*connect.Response[v1.CreateWebhookResponse], error) {
	m := req.Msg
	w, err := h.svc.Create(ctx, events.CreateInput{Domain: m.GetDomain(), Name: m.GetName(), URL: m.GetUrl(), Types: m.GetTypes()})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.CreateWebhookResponse{Webhook: webhookPB(w.Webhook), Secret: w.Secret}), nil
}

func (h *EventsHandler) GetWebhook(ctx context.Context, req *connect.Request[v1.GetWebhookRequest]) (*connect.Response[v1.GetWebhookResponse], error) {
	w, err := h.svc.Get(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.GetWebhookResponse{Webhook: webhookPB(w)}), nil
}

func (h *EventsHandler) ListWebhooks(ctx context.Context, req *connect.Request[v1.ListWebhooksRequest]) (*connect.Response[v1.ListWebhooksResponse], error) {
	ws, err := h.svc.List(ctx, req.Msg.GetDomain())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.ListWebhooksResponse{Webhooks: mapSlice(ws, webhookPB)}), nil
}

func (h *EventsHandler) UpdateWebhook(ctx context.Context, req *connect.Request[v1.UpdateWebhookRequest]) (*connect.Response[v1.UpdateWebhookResponse], error) {
	m := req.Msg
	in := events.UpdateInput{ID: m.GetId(), Version: m.GetVersion(), URL: m.Url, Active: m.Active}
	if m.GetUpdateTypes() {
		types := m.GetTypes()
		in.Types = &types
	}
	w, err := h.svc.Update(ctx, in)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.UpdateWebhookResponse{Webhook: webhookPB(w)}), nil
}

func (h *EventsHandler) RotateWebhookSecret(ctx context.Context, req *connect.Request[v1.RotateWebhookSecretRequest]) (*connect.Response[v1.RotateWebhookSecretResponse], error) {
	w, err := h.svc.RotateSecret(ctx, req.Msg.GetId(), req.Msg.GetVersion())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.RotateWebhookSecretResponse{Webhook: webhookPB(w.Webhook), Secret: w.Secret}), nil
}

func (h *EventsHandler) DeleteWebhook(ctx context.Context, req *connect.Request[v1.DeleteWebhookRequest]) (*connect.Response[v1.DeleteWebhookResponse], error) {
	if err := h.svc.Delete(ctx, req.Msg.GetId(), req.Msg.GetVersion()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.DeleteWebhookResponse{}), nil
}

func (h *EventsHandler) ListWebhookDeliveries(ctx context.Context, req *connect.Request[v1.ListWebhookDeliveriesRequest]) (*connect.Response[v1.ListWebhookDeliveriesResponse], error) {
	m := req.Msg
	pg, err := h.svc.Deliveries(ctx, events.DeliveriesInput{WebhookID: m.GetWebhookId(), State: deliveryStates.str(m.GetState()),
		PageSize: int(m.GetPageSize()), PageToken: m.GetPageToken()})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.ListWebhookDeliveriesResponse{Deliveries: mapSlice(pg.Items, deliveryPB), NextPageToken: pg.Next}), nil
}

func (h *EventsHandler) ReplayWebhookDelivery(ctx context.Context, req *connect.Request[v1.ReplayWebhookDeliveryRequest]) (*connect.Response[v1.ReplayWebhookDeliveryResponse], error) {
	d, err := h.svc.Replay(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.ReplayWebhookDeliveryResponse{Delivery: deliveryPB(d)}), nil
}

func (h *EventsHandler) WatchEvents(ctx context.Context, req *connect.Request[v1.WatchEventsRequest], stream *connect.ServerStream[v1.WatchEventsResponse]) error {
	m := req.Msg
	in := events.WatchInput{Filter: events.Filter{Domain: m.GetDomain(), Types: m.GetTypes()}, AfterSequence: m.GetAfterSequence()}
	ready := func(after int64) error { return stream.Send(&v1.WatchEventsResponse{StartSequence: after}) }
	return h.svc.Watch(ctx, in, ready, func(e events.Event) error {
		return stream.Send(&v1.WatchEventsResponse{Event: eventPB(e)})
	})
}

func webhookPB(w events.Webhook) *v1.Webhook {
	return &v1.Webhook{Id: w.ID, Domain: w.Domain, Name: w.Name, Url: w.URL, Types: w.Types, Active: w.Active,
		Version: w.Version, CreatedBy: w.CreatedBy, CreateTime: timestamppb.New(w.CreateTime),
		UpdateTime: timestamppb.New(w.UpdateTime), Cursor: w.Cursor}
}

func deliveryPB(d events.Delivery) *v1.WebhookDelivery {
	return &v1.WebhookDelivery{Id: d.ID, WebhookId: d.WebhookID, Sequence: d.Sequence, Type: d.Type,
		State: deliveryStates.num(d.State), Attempts: int32(d.Attempts), NextAttemptTime: timestamppb.New(d.NextAttemptTime),
		LastAttemptTime: tsOrNil(d.LastAttemptTime), ResponseStatus: int32(d.ResponseStatus), LastError: d.LastError,
		DeliverTime: tsOrNil(d.DeliverTime), CreateTime: timestamppb.New(d.CreateTime)}
}

func eventPB(e events.Event) *v1.Event {
	b, _ := e.JSON()
	return &v1.Event{Id: e.ID, Source: e.Source, Type: e.Type, Subject: e.Subject, Time: timestamppb.New(e.Time),
		Domain: e.Domain, Sequence: e.Seq(), Json: string(b)}
}
