package multiline

// indented reports whether line starts with a space or a tab: the mark of a line
// that a stack trace or traceback printed under another.
func indented(line string) bool {
	return line != "" && (line[0] == ' ' || line[0] == '\t')
}
