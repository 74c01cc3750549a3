// Package templates renders the text and HTML bodies of partnermail's
// outbound emails: notifications of staff messages and campaign emails.
//
// The default templates are embedded in the binary (default/*.txt,
// default/*.html). A company may override any of them with a file in the
// configured folder ([templates] dir):
//
//	<dir>/<company slug>/notification.txt
//	<dir>/<company slug>/notification.html
//	<dir>/<company slug>/campaign.txt
//	<dir>/<company slug>/campaign.html
//
// Each file replaces one default; a missing file keeps it. Text files are
// text/template, HTML files html/template (so every value is escaped for
// its context). The data is a Notification or a Campaign; besides their
// fields and methods, templates may call quote (prefix lines with "> "),
// paragraphs (split text into paragraphs of lines) and links (split a
// line into text and web links). Overrides are
// parsed and test-rendered when the Set is built, so a mistake is reported
// at start-up with its file and line. Templates produce bodies only: every
// header is set by the outbound package.
package templates

import (
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	texttemplate "text/template"
)

// Template names.
const (
	NotificationName = "notification"
	CampaignName     = "campaign"
)

//go:embed default
var defaults embed.FS

// pair is one template in both formats.
type pair struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// Set holds the default templates and every company's overrides. It is
// read-only once built and safe for concurrent use.
type Set struct {
	defaults map[string]pair
	company  map[string]map[string]pair // slug → name → overrides (nil fields: default)
}

// New loads the embedded templates and the overrides found under dir
// (none when dir is ""). It fails on an unreadable folder, an unknown
// template name, and a template that does not parse or render.
func New(dir string) (*Set, error) {
	s := &Set{defaults: map[string]pair{}, company: map[string]map[string]pair{}}
	for name := range samples {
		var p pair
		txt, err := defaults.ReadFile("default/" + name + ".txt")
		if err != nil {
			return nil, fmt.Errorf("templates: %w", err)
		}
		htm, err := defaults.ReadFile("default/" + name + ".html")
		if err != nil {
			return nil, fmt.Errorf("templates: %w", err)
		}
		if p.text, err = parseText(txt, "default/"+name+".txt"); err != nil {
			return nil, err
		}
		if p.html, err = parseHTML(htm, "default/"+name+".html"); err != nil {
			return nil, err
		}
		s.defaults[name] = p
	}
	if dir == "" {
		return s, nil
	}
	if err := s.loadOverrides(dir); err != nil {
		return nil, err
	}
	return s, nil
}

// loadOverrides reads <dir>/<slug>/<name>.txt|.html.
func (s *Set) loadOverrides(dir string) error {
	slugs, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	fsys := os.DirFS(dir)
	for _, sd := range slugs {
		if !sd.IsDir() {
			continue
		}
		files, err := fs.ReadDir(fsys, sd.Name())
		if err != nil {
			return fmt.Errorf("templates: %w", err)
		}
		for _, f := range files {
			ext := filepath.Ext(f.Name())
			if f.IsDir() || (ext != ".txt" && ext != ".html") {
				continue
			}
			name := strings.TrimSuffix(f.Name(), ext)
			path := filepath.Join(dir, sd.Name(), f.Name())
			if _, ok := samples[name]; !ok {
				return fmt.Errorf("templates: %s: unknown template %q (want %s or %s)", path, name, NotificationName, CampaignName)
			}
			if err := s.loadOverride(fsys, dir, sd.Name(), name, f.Name()); err != nil {
				return err
			}
		}
	}
	return nil
}

// loadOverride parses and test-renders one override file.
func (s *Set) loadOverride(fsys fs.FS, dir, slug, name, file string) error {
	rel := slug + "/" + file
	full := filepath.Join(dir, slug, file)
	if s.company[slug] == nil {
		s.company[slug] = map[string]pair{}
	}
	p := s.company[slug][name]
	src, err := fs.ReadFile(fsys, rel)
	if err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	// Templates are named after their file, so that parse and execution
	// errors read "template: <file>:<line>: ...".
	if strings.HasSuffix(file, ".txt") {
		if p.text, err = parseText(src, full); err == nil {
			err = p.text.Execute(io.Discard, samples[name])
		}
	} else {
		if p.html, err = parseHTML(src, full); err == nil {
			err = p.html.Execute(io.Discard, samples[name])
		}
	}
	if err != nil {
		return fmt.Errorf("templates: override: %w", err)
	}
	s.company[slug][name] = p
	return nil
}

func parseText(src []byte, name string) (*texttemplate.Template, error) {
	t, err := texttemplate.New(name).Option("missingkey=error").Funcs(funcs).Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	return t, nil
}

func parseHTML(src []byte, name string) (*htmltemplate.Template, error) {
	t, err := htmltemplate.New(name).Option("missingkey=error").Funcs(funcs).Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	return t, nil
}

// ErrUnknown is returned by Render for a template name that does not exist.
var ErrUnknown = errors.New("templates: unknown template")

// Render renders template name for the company with the given slug: its
// override where there is one, else the default. data is a Notification
// for NotificationName and a Campaign for CampaignName.
func (s *Set) Render(companySlug, name string, data any) (text, html string, err error) {
	p, ok := s.defaults[name]
	if !ok {
		return "", "", fmt.Errorf("%w %q", ErrUnknown, name)
	}
	if o, ok := s.company[companySlug][name]; ok {
		if o.text != nil {
			p.text = o.text
		}
		if o.html != nil {
			p.html = o.html
		}
	}
	var tb, hb strings.Builder
	if err := p.text.Execute(&tb, data); err != nil {
		return "", "", fmt.Errorf("render %s text: %w", name, err)
	}
	if err := p.html.Execute(&hb, data); err != nil {
		return "", "", fmt.Errorf("render %s HTML: %w", name, err)
	}
	return tb.String(), hb.String(), nil
}
