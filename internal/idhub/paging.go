package idhub

import (
	"context"
	"fmt"
	"iter"
)

// pageFunc fetches one page after token, returning its items and the next
// page token ("" at the end).
type pageFunc[T any] func(ctx context.Context, token string) ([]T, string, error)

// pages iterates over all items of a paged list. Each page is fetched as
// an idempotent call (retried). Iteration stops after yielding an error.
func pages[T any](ctx context.Context, c *Client, name string, fetch pageFunc[T]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		token := ""
		seen := map[string]bool{}
		for {
			var items []T
			var next string
			err := c.do(ctx, name, true, func(ctx context.Context) error {
				var err error
				items, next, err = fetch(ctx, token)
				return err
			})
			if err != nil {
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if next == "" {
				return
			}
			if seen[next] {
				yield(zero, fmt.Errorf("idhub: %s: server repeated page token", name))
				return
			}
			seen[next] = true
			token = next
		}
	}
}

// collect drains seq into a slice.
func collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	var out []T
	for v, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}

// chunks splits items into consecutive slices of at most n.
func chunks[T any](items []T, n int) [][]T {
	var out [][]T
	for len(items) > n {
		out = append(out, items[:n:n])
		items = items[n:]
	}
	if len(items) > 0 {
		out = append(out, items)
	}
	return out
}
