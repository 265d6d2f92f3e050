package emulator

import "net/http"

// adminPrefix is the path of the admin API; the SDK only ever requests "/".
const adminPrefix = "/_admin/"

func (e *Emulator) serveAdmin(w http.ResponseWriter, r *http.Request) {
	http.NotFound(w, r)
}
