package emulator

import "net/http"

// execPath is where ExecContainerCommand's WebSocketUri points.
const execPath = "/exec/"

func (e *Emulator) serveExecWebsocket(w http.ResponseWriter, r *http.Request) {
	http.NotFound(w, r)
}
