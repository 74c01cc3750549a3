package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/partnermail/partnermail/storage"
)

// CreateCompany stores a company with its inbound domains; a slug or a
// domain already taken gives storage.ErrExists.
func (s *Store) CreateCompany(ctx context.Context, c storage.Company) (storage.Company, error) {
	c.Slug = strings.TrimSpace(c.Slug)
	c.Name = strings.TrimSpace(c.Name)
	if c.Slug == "" || c.Name == "" {
		return storage.Company{}, fmt.Errorf("create company: slug and name are required: %w", storage.ErrInvalid)
	}
	if c.Partners == "" {
		c.Partners = "partners"
	}
	domains := make([]string, 0, len(c.Domains))
	for _, d := range c.Domains {
		d = strings.ToLower(strings.TrimSpace(d))
		if d == "" || strings.ContainsAny(d, "@ \t") {
			return storage.Company{}, fmt.Errorf("create company: bad domain %q: %w", d, storage.ErrInvalid)
		}
		domains = append(domains, d)
	}
	c.Domains = domains
	err := s.write(ctx, func(tx *Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO companies (slug, name, from_addr, partners, created_at)
			VALUES (?, ?, ?, ?, ?) RETURNING id`, c.Slug, c.Name, c.FromAddr, c.Partners, ms(now())).Scan(&c.ID)
		if isUnique(err) {
			return fmt.Errorf("company %q: %w", c.Slug, storage.ErrExists)
		} else if err != nil {
			return fmt.Errorf("insert company: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO modseq (company_id, value) VALUES (?, 0)`, c.ID); err != nil {
			return fmt.Errorf("insert modseq: %w", err)
		}
		for i, d := range c.Domains {
			_, err := tx.Exec(ctx, `INSERT INTO company_domains (domain, company_id, position) VALUES (?, ?, ?)`, d, c.ID, i)
			if isUnique(err) {
				return fmt.Errorf("domain %q: %w", d, storage.ErrExists)
			} else if err != nil {
				return fmt.Errorf("insert domain: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return storage.Company{}, fmt.Errorf("create company: %w", err)
	}
	return c, nil
}

const companyCols = `id, slug, name, from_addr, partners`

// Companies lists all companies by id.
func (s *Store) Companies(ctx context.Context) ([]storage.Company, error) {
	db := s.read()
	rows, err := db.Query(ctx, `SELECT `+companyCols+` FROM companies ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list companies: %w", err)
	}
	defer rows.Close()
	var cs []storage.Company
	byID := map[int64]int{}
	for rows.Next() {
		var c storage.Company
		if err := rows.Scan(&c.ID, &c.Slug, &c.Name, &c.FromAddr, &c.Partners); err != nil {
			return nil, fmt.Errorf("list companies: %w", err)
		}
		byID[c.ID] = len(cs)
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list companies: %w", err)
	}
	rows.Close()
	drows, err := db.Query(ctx, `SELECT company_id, domain FROM company_domains ORDER BY company_id, position`)
	if err != nil {
		return nil, fmt.Errorf("list domains: %w", err)
	}
	defer drows.Close()
	for drows.Next() {
		var id int64
		var d string
		if err := drows.Scan(&id, &d); err != nil {
			return nil, fmt.Errorf("list domains: %w", err)
		}
		if i, ok := byID[id]; ok {
			cs[i].Domains = append(cs[i].Domains, d)
		}
	}
	return cs, drows.Err()
}

// CompanyBySlug finds a company by its slug.
func (s *Store) CompanyBySlug(ctx context.Context, slug string) (storage.Company, error) {
	return s.company(ctx, `slug = ?`, strings.TrimSpace(slug))
}

// Company finds a company by id.
func (s *Store) Company(ctx context.Context, id int64) (storage.Company, error) {
	return s.company(ctx, `id = ?`, id)
}

// CompanyByDomain finds the company owning an inbound domain.
func (s *Store) CompanyByDomain(ctx context.Context, domain string) (storage.Company, error) {
	d := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(domain)), ".")
	return s.company(ctx, `id = (SELECT company_id FROM company_domains WHERE domain = ?)`, d)
}

func (s *Store) company(ctx context.Context, where string, arg any) (storage.Company, error) {
	db := s.read()
	var c storage.Company
	err := db.QueryRow(ctx, `SELECT `+companyCols+` FROM companies WHERE `+where, arg).
		Scan(&c.ID, &c.Slug, &c.Name, &c.FromAddr, &c.Partners)
	if err != nil {
		return c, notFound(err, fmt.Sprintf("company %v", arg))
	}
	rows, err := db.Query(ctx, `SELECT domain FROM company_domains WHERE company_id = ? ORDER BY position`, c.ID)
	if err != nil {
		return c, fmt.Errorf("company domains: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return c, fmt.Errorf("company domains: %w", err)
		}
		c.Domains = append(c.Domains, d)
	}
	return c, rows.Err()
}

// companyExists fails with storage.ErrNotFound for an unknown company.
func companyExists(ctx context.Context, db conn, id int64) error {
	var one int
	if err := db.QueryRow(ctx, `SELECT 1 FROM companies WHERE id = ?`, id).Scan(&one); err != nil {
		return notFound(err, fmt.Sprintf("company %d", id))
	}
	return nil
}
