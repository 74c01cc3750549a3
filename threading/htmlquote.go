package threading

import "strings"

// stripAction is what reply extraction does with an HTML element.
type stripAction uint8

const (
	stripKeep     stripAction = iota
	stripDrop                 // drop the element and its content
	stripTruncate             // drop the element and everything after it
)

// dropClasses mark quoted history, attribution lines and signatures.
var dropClasses = []string{
	"gmail_quote",     // Gmail: quote container (also gmail_quote_container)
	"gmail_attr",      // Gmail: "On … wrote:" line
	"gmail_signature", // Gmail signature
	"moz-cite-prefix", // Thunderbird: "On … wrote:" line
	"moz-signature",   // Thunderbird signature
	"yahoo_quoted",    // Yahoo Mail
	"protonmail_quote",
	"zmail_extra", // Zoho
}

// stripStart decides, for a start tag, whether reply extraction keeps it,
// drops its subtree, or stops the document there. Marked quote
// containers and signatures (Gmail gmail_quote, Thunderbird
// moz-cite-prefix, Apple Mail and others' <blockquote type="cite">) are
// dropped so that text after them (bottom-posting) survives; Outlook's
// reply headers (divRplyFwdMsg, #appendonsend, the border-top separator
// above "From: … Sent: …") are followed by the whole history as siblings,
// so the document is cut there.
func stripStart(name string, attrs map[string]string) stripAction {
	id := strings.ToLower(attrs["id"])
	switch {
	case strings.HasSuffix(id, "divrplyfwdmsg"), // Outlook web, mobile, new Outlook
		id == "appendonsend", // Outlook web: history follows
		strings.HasPrefix(id, "mail-editor-reference-message-container"), // new Outlook on Mac
		name == "hr" && id == "stopspelling":                             // old Outlook web
		return stripTruncate
	case id == "signature", id == "ms-outlook-mobile-signature", id == "ymail_android_signature":
		return stripDrop
	}
	if name == "div" || name == "p" {
		style := strings.ToLower(strings.Join(strings.Fields(attrs["style"]), ""))
		// Outlook desktop: <div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0in 0in 0in">
		if strings.Contains(style, "border:none") && strings.Contains(style, "border-top:solid") {
			return stripTruncate
		}
	}
	class := strings.ToLower(attrs["class"])
	for _, c := range dropClasses {
		if strings.Contains(class, c) {
			return stripDrop
		}
	}
	if attrs["data-smartmail"] == "gmail_signature" {
		return stripDrop
	}
	if name == "blockquote" {
		// Gmail's "indent" button makes a blockquote without border;
		// that is the writer's own text.
		style := strings.ToLower(strings.Join(strings.Fields(attrs["style"]), ""))
		if strings.EqualFold(attrs["type"], "cite") || strings.Contains(class, "quote") || !strings.Contains(style, "border:none") {
			return stripDrop
		}
	}
	return stripKeep
}
