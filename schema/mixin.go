// Package schema holds the ent schemas of meshplane's catalog. Generated code
// lives in server/ent; versioned migrations in migrations/ are derived from it.
package schema

import (
	"time"

	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/mixin"
	"github.com/google/uuid"
)

// newID returns a time-ordered UUID, so ids sort by creation.
func newID() string { return uuid.Must(uuid.NewV7()).String() }

func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// IDMixin gives an entity a string UUIDv7 primary key.
type IDMixin struct{ mixin.Schema }

func (IDMixin) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").DefaultFunc(newID).Immutable().NotEmpty().MaxLen(36),
	}
}

// TimeMixin records creation and update times in UTC, to the microsecond
// (PostgreSQL's precision), so values read back equal values written.
type TimeMixin struct{ mixin.Schema }

func (TimeMixin) Fields() []ent.Field {
	return []ent.Field{
		field.Time("create_time").Default(now).Immutable(),
		field.Time("update_time").Default(now).UpdateDefault(now),
	}
}

// VersionMixin adds the optimistic-concurrency version every mutable resource carries.
type VersionMixin struct{ mixin.Schema }

func (VersionMixin) Fields() []ent.Field {
	return []ent.Field{
		field.Int64("version").Default(1).Positive(),
	}
}
