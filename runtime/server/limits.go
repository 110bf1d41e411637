package server

// DefaultMaxBodyBytesInFlight is Config.MaxBodyBytesInFlight's default:
// 16 MiB, room for 16 bodies of a view's default maxbody (1 MiB) at once,
// or thousands of small ones. A 1 MiB body decoded into an `any` field
// costs up to some 5 MiB while its view runs (encoding/json's buffer, twice
// the body, and a value of up to view.DefaultMaxValues values), so that
// the bodies in flight stay under 100 MiB of live heap: in the tests, 64
// and 256 such requests at once kept the server's peak RSS between 90 and
// 140 MiB. With 32 MiB it reached 230 MiB under load, too close to a
// 256 MiB container.
const DefaultMaxBodyBytesInFlight = 16 << 20
