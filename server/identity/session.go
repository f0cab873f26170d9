package identity

import (
	"context"
	"fmt"
	"time"

	"github.com/meshplane/meshplane/server/actor"
	"github.com/meshplane/meshplane/server/audit"
	"github.com/meshplane/meshplane/server/authn"
	"github.com/meshplane/meshplane/server/ent"
	"github.com/meshplane/meshplane/server/ent/token"
	"github.com/meshplane/meshplane/server/errs"
)

// SessionTTL bounds a portal session; a session never outlives the token it
// was exchanged for.
const SessionTTL = 12 * time.Hour

// SessionDescription marks the tokens that back portal sessions.
const SessionDescription = "portal session"

// StartSession exchanges a bearer token for a session token of the same
// principal, so the pasted token never has to stay in the browser.
func (s *Service) StartSession(ctx context.Context, secret string) (authn.Session, error) {
	who, err := s.Authenticate(ctx, secret)
	if err != nil {
		return authn.Session{}, err
	}
	src, err := s.store.Client.Token.Query().Where(token.ID(who.TokenID)).Only(ctx)
	if err != nil {
		return authn.Session{}, fmt.Errorf("reading token: %w", err)
	}
	expires := s.clock().Add(SessionTTL)
	if src.ExpireTime.Before(expires) {
		expires = src.ExpireTime
	}
	if !expires.After(s.clock()) {
		return authn.Session{}, errs.New(errs.KindUnauthenticated, "missing, invalid, expired or revoked token")
	}
	out := authn.Session{Secret: newSecret(), ExpireTime: expires}
	ctx = actor.With(ctx, who)
	err = s.store.Tx(ctx, func(tx *ent.Tx) error {
		t, err := tx.Token.Create().SetPrincipalID(who.ID).SetHash(hashSecret(out.Secret)).
			SetDescription(SessionDescription).SetExpireTime(expires).Save(ctx)
		if err != nil {
			return err
		}
		out.Actor = who
		out.Actor.TokenID = t.ID
		return audit.Record(ctx, tx, s.store.Dialect, audit.Change{
			Action: "identity.StartSession", ResourceType: "token", Resource: t.ID,
			Domain: who.Domain, After: t,
		})
	})
	if err != nil {
		return authn.Session{}, err
	}
	return out, nil
}

// EndSession revokes the token the caller authenticated with: signing out
// of the portal ends the session everywhere it was copied to.
func (s *Service) EndSession(ctx context.Context) error {
	who, ok := actor.From(ctx)
	if !ok {
		return errs.New(errs.KindUnauthenticated, "not authenticated")
	}
	t, err := s.store.Client.Token.Get(ctx, who.TokenID)
	if err != nil {
		return fmt.Errorf("reading token: %w", err)
	}
	if t.RevokeTime != nil {
		return nil
	}
	err = s.store.Tx(ctx, func(tx *ent.Tx) error {
		out, err := tx.Token.UpdateOneID(t.ID).SetRevokeTime(s.clock()).Save(ctx)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, s.store.Dialect, audit.Change{
			Action: "identity.EndSession", ResourceType: "token", Resource: t.ID,
			Domain: who.Domain, Before: t, After: out,
		})
	})
	if err != nil {
		return err
	}
	s.forgetTokens()
	return nil
}
