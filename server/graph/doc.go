// Package graph is the GraphQL door: it decodes GraphQL requests, calls one
// service method per field and encodes the results and errors. The schema is
// api/graphql/*.graphqls; generated code lives in generated/ and model/.
package graph

//go:generate go tool gqlgen generate
