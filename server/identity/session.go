package identity

import (
	"context"
	"fmt"
	"time"

	"github.com/meshplane/meshplane/server/actor"
	"github.com/meshplane/meshplane/server/authn"
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
	src, err := s.store.Client.Token.Get(ctx, who.TokenID)
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
	t, secret, err := s.issueToken(actor.With(ctx, who), who.ID, who.Domain, SessionDescription, expires, "identity.StartSession")
	if err != nil {
		return authn.Session{}, err
	}
	who.TokenID = t.ID
	return authn.Session{Actor: who, Secret: secret, ExpireTime: expires}, nil
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
	_, err = s.revokeToken(ctx, t, who.Domain, "identity.EndSession")
	return err
}
