package main

import (
	"fmt"
	"io"
	"strings"
)

// commands are meshplane's commands, for shell completion.
var commands = []string{"serve", "migrate", "sandbox", "version", "login", "get", "diff", "apply", "export", "import",
	"plan", "promote", "approve", "watch", "request-access", "completion", "help"}

// completion prints a completion script for bash or zsh: commands, get's
// kinds, and files after -f.
func completion(args []string, stdout io.Writer) error {
	if len(args) != 1 || (args[0] != "bash" && args[0] != "zsh") {
		return failed("usage: meshplane completion bash|zsh   (e.g. source <(meshplane completion bash))")
	}
	script := `_meshplane() {
  local cur prev
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "%s" -- "$cur"))
    return
  fi
  case "$prev" in
    -f|--odps|--odcs|--ca-file|--dir) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    get) COMPREPLY=($(compgen -W "products product schema" -- "$cur")); return ;;
    -o) COMPREPLY=($(compgen -W "text json yaml" -- "$cur")); return ;;
    --format) COMPREPLY=($(compgen -W "json-schema avro" -- "$cur")); return ;;
    completion) COMPREPLY=($(compgen -W "bash zsh" -- "$cur")); return ;;
  esac
  COMPREPLY=($(compgen -W "--server --token --ca-file -f -o --dry-run --prune --wait --confirm-destructive --domain" -- "$cur"))
}
complete -F _meshplane meshplane
`
	if args[0] == "zsh" {
		script = "autoload -U +X bashcompinit && bashcompinit\n" + script
	}
	_, err := fmt.Fprintf(stdout, script, strings.Join(commands, " "))
	return err
}
