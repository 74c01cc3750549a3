package threading

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// Extract returns the new text of a plain-text reply: quoted history
// ("On … wrote:" in English, German, French, Spanish, Dutch, Italian and
// Portuguese, possibly wrapped over two or three lines; Outlook's
// "-----Original Message-----" and "From: … Sent: … To: … Subject:"
// header blocks in those languages; ">" blocks, also below the new text
// or interleaved with it) and signatures ("-- ", "Sent from my iPhone"
// and the like) are removed. The result has no trailing spaces, at most
// one blank line in a row, and is "" when the reply adds nothing.
//
// It never looks at the subject and never fails; the raw message stays
// the record, this is only its readable summary.
func Extract(text string) string {
	text = truncateUTF8(text, MaxExtractBytes)
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	lines = cutHistory(lines)
	lines = dropQuotes(lines)
	return tidyText(strings.Join(lines, "\n"))
}

// ExtractHTML is Extract for a reply that has only an HTML body: the
// quote containers mailers mark in HTML (Gmail's gmail_quote, Outlook's
// divRplyFwdMsg, #appendonsend and border-top separator, Apple Mail's and
// Thunderbird's <blockquote type="cite">) are dropped, the rest is
// rendered with HTMLToText and then cleaned like plain text.
func ExtractHTML(html string) string {
	return Extract(htmlReplyText(truncateUTF8(html, 4*MaxExtractBytes)))
}

// ExtractReply extracts the new text of a reply from its text/plain and
// text/html bodies (either may be ""): the plain text when there is any,
// the HTML otherwise or when the plain text yields nothing.
func ExtractReply(plain, html string) string {
	if strings.TrimSpace(plain) != "" {
		if t := Extract(plain); t != "" || html == "" {
			return t
		}
	}
	if html == "" {
		return ""
	}
	return ExtractHTML(html)
}

// MaxExtractBytes is how much of a plain-text body Extract looks at
// (ExtractHTML: four times as much HTML); the new text of a reply is at
// its top.
const MaxExtractBytes = 1 << 20

// truncateUTF8 cuts s to at most n bytes, not inside a UTF-8 sequence.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for i := 0; i < utf8.UTFMax && n > 0 && !utf8.RuneStart(s[n]); i++ {
		n--
	}
	return s[:n]
}

const (
	// maxAttributionLines is how many lines an "On … wrote:" line may be
	// wrapped over, maxAttributionLen how long it may be.
	maxAttributionLines = 3
	maxAttributionLen   = 600
	// maxMarkerLen is the longest line that can be a sign-off, a
	// separator or a header line.
	maxMarkerLen = 200
)

var (
	// attributionRE matches a whole attribution line, once joined and with
	// whitespace collapsed. Regexps here use unbounded repetition (small
	// programs, linear time); lengths are bounded in code.
	attributionRE = regexp.MustCompile(`(?i)^(?:` +
		`(?:on|am|le|el|op|il|em|den|på)\s.+\s(?:wrote|a écrit|escribió|escribio|ha scritto|escreveu|skrev)\s?:` +
		`|(?:am|op)\s.+\s(?:schrieb|schreef)\s.*:` +
		`|.*@.*\s(?:wrote|schrieb|a écrit|escribió|escribio|schreef|ha scritto|escreveu|skrev)\s?:` +
		`|.*@.*\s(?:schrieb am|schreef op)\s.+:` +
		`|.+\s(?:wrote|schrieb|a écrit|escribió|schreef|ha scritto|escreveu)\s?:` +
		`)$`)
	// attributionVerbs are what every attribution contains, a cheap test
	// before the regexps.
	attributionVerbs = []string{"wrote", "schrieb", "écrit", "escribió", "escribio", "schreef", "scritto", "escreveu", "skrev"}
	// strongAttributionRE are attributions certain enough to cut the rest
	// of the text even when no ">" block follows: an opener word, a digit
	// (date or time) and the verb.
	strongAttributionRE = regexp.MustCompile(`(?i)^(?:on|am|le|el|op|il|em)\s.*\d.*\s(?:wrote|schrieb|a écrit|escribió|escribio|schreef|ha scritto|escreveu)(?:\s.*)?\s?:$`)

	// signOffRE are the mobile mailers' automatic last lines.
	signOffRE = regexp.MustCompile(`(?i)^(?:` +
		`sent from my .+` +
		`|sent (?:from|with|via) (?:outlook|mail for windows|yahoo mail|aol|proton ?mail|samsung|gmail|bluemail|spark|my).*` +
		`|get outlook for .+` +
		`|von meinem .+ gesendet\.?` +
		`|gesendet (?:von|mit) (?:meinem|outlook|der|mail).*` +
		`|envoyé (?:de|depuis) (?:mon|ma|outlook|l'application|yahoo).*` +
		`|enviado (?:desde|con) (?:mi|outlook|yahoo|correo).*` +
		`|enviado do meu .+` +
		`|inviato da .+` +
		`|verzonden (?:vanaf|met|van) (?:mijn|outlook).*` +
		`)$`)

	// separatorRE are the lines clients put above unquoted history.
	separatorRE = regexp.MustCompile(`(?i)^[-_=*\s]*(?:original message|ursprüngliche nachricht|originalnachricht|message d'origine|message original|mensaje original|messaggio originale|oorspronkelijk bericht|origineel bericht|mensagem original|reply message)[-_=*\s]*$`)

	// underscoreRE is Outlook's line above a reply header block.
	underscoreRE = regexp.MustCompile(`^_{10,}$`)

	// forwardRE marks forwarded content, which is kept.
	forwardRE = regexp.MustCompile(`(?i)^[-\s]*(?:forwarded message|begin forwarded message|weitergeleitete nachricht|message transféré|mensaje reenviado|messaggio inoltrato|doorgestuurd bericht|mensagem encaminhada)[-:\s]*$`)

	headerFromRE = regexp.MustCompile(`(?i)^\*?(?:from|von|de|van|da|od|från|fra)\s?:\*?\s*\S`)
	headerRestRE = regexp.MustCompile(`(?i)^\*?(?:sent|date|to|cc|subject|gesendet|datum|an|betreff|envoyé|à|objet|enviado|fecha|para|asunto|verzonden|aan|onderwerp|inviato|data|a|oggetto|enviada|assunto|cc|reply-to)\s?:`)
)

// norm prepares a line for matching: NBSP as space, trimmed.
func norm(l string) string {
	return strings.TrimSpace(strings.ReplaceAll(l, "\u00a0", " "))
}

func isQuoted(l string) bool {
	return strings.HasPrefix(strings.TrimLeft(l, " \t"), ">")
}

func isBlank(l string) bool { return norm(l) == "" }

// attributionAt reports whether an attribution line starts at lines[i],
// and how many lines it spans.
func attributionAt(lines []string, i int, strong bool) (int, bool) {
	if isQuoted(lines[i]) || isBlank(lines[i]) {
		return 0, false
	}
	joined := ""
	for k := 0; k < maxAttributionLines && i+k < len(lines); k++ {
		l := norm(lines[i+k])
		if l == "" || isQuoted(lines[i+k]) || len(joined)+len(l) > maxAttributionLen {
			break
		}
		if k > 0 {
			joined += " "
		}
		joined += l
		if !strings.HasSuffix(joined, ":") {
			continue
		}
		if len(joined) > maxAttributionLen || !hasAttributionVerb(joined) {
			return 0, false
		}
		joined := strings.Join(strings.Fields(joined), " ")
		if attributionRE.MatchString(joined) && (!strong || strongAttributionRE.MatchString(joined)) {
			return k + 1, true
		}
		return 0, false
	}
	return 0, false
}

func hasAttributionVerb(s string) bool {
	s = strings.ToLower(s)
	for _, v := range attributionVerbs {
		if strings.Contains(s, v) {
			return true
		}
	}
	return false
}

// headerBlockAt reports whether an Outlook-style reply header ("From: …"
// followed by at least two of "Sent:", "To:", "Subject:"… in one of the
// supported languages) starts at lines[i].
func headerBlockAt(lines []string, i int) bool {
	if l := norm(lines[i]); len(l) > maxAttributionLen || !headerFromRE.MatchString(l) {
		return false
	}
	n := 0
	for j := i + 1; j < len(lines) && j <= i+8; j++ {
		if l := norm(lines[j]); len(l) <= maxAttributionLen && headerRestRE.MatchString(l) {
			n++
		}
	}
	return n >= 2
}

// afterForward reports whether lines[i] follows a forwarded-message
// marker (blank lines aside).
func afterForward(lines []string, i int) bool {
	for j := i - 1; j >= 0 && j >= i-3; j-- {
		if isBlank(lines[j]) {
			continue
		}
		l := norm(lines[j])
		return len(l) <= maxMarkerLen && forwardRE.MatchString(l)
	}
	return false
}

// onlyQuotesAfter reports whether every line from i on is blank or quoted.
func onlyQuotesAfter(lines []string, i int) bool {
	for _, l := range lines[i:] {
		if !isQuoted(l) && !isBlank(l) {
			return false
		}
	}
	return true
}

// cutHistory returns the lines before the first marker after which
// everything is history or signature: a signature delimiter, a mobile
// sign-off, an "Original Message" separator, an Outlook header block, or
// an attribution line not followed by a ">" block.
func cutHistory(lines []string) []string {
	for i, raw := range lines {
		if isQuoted(raw) {
			continue
		}
		l := norm(raw)
		marker := len(l) <= maxMarkerLen
		switch {
		case strings.TrimRight(raw, "\r") == "-- " || l == "--":
			return lines[:i]
		case marker && (signOffRE.MatchString(l) || separatorRE.MatchString(l)):
			return lines[:i]
		case marker && underscoreRE.MatchString(l) && i+1 < len(lines) && (headerBlockAt(lines, i+1) || i+2 < len(lines) && isBlank(lines[i+1]) && headerBlockAt(lines, i+2)):
			return lines[:i]
		case headerBlockAt(lines, i) && !afterForward(lines, i):
			return lines[:i]
		}
		if n, ok := attributionAt(lines, i, false); ok {
			next := i + n
			for next < len(lines) && isBlank(lines[next]) {
				next++
			}
			if next < len(lines) && isQuoted(lines[next]) && !onlyQuotesAfter(lines, next) {
				continue // bottom-posting: dropQuotes removes it with its block
			}
			if onlyQuotesAfter(lines, next) {
				return lines[:i]
			}
			if _, strong := attributionAt(lines, i, true); strong {
				return lines[:i]
			}
		}
	}
	return lines
}

// dropQuotes removes ">" lines and the attribution lines just above each
// ">" block.
func dropQuotes(lines []string) []string {
	keep := make([]bool, len(lines))
	for i := range lines {
		keep[i] = !isQuoted(lines[i])
	}
	for i := 0; i < len(lines); i++ {
		n, ok := attributionAt(lines, i, false)
		if !ok {
			continue
		}
		next := i + n
		for next < len(lines) && next <= i+n+2 && isBlank(lines[next]) {
			next++
		}
		if next < len(lines) && isQuoted(lines[next]) {
			for k := i; k < i+n; k++ {
				keep[k] = false
			}
		}
	}
	out := lines[:0:0]
	for i, l := range lines {
		if keep[i] {
			out = append(out, l)
		}
	}
	return out
}
