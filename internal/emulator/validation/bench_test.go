package validation

import (
	"testing"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"
)

func BenchmarkCheck(b *testing.B) {
	b.Run("CreateUserRequest/valid", func(b *testing.B) {
		req := createUser()
		b.ReportAllocs()
		for b.Loop() {
			if err := Check(req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("CreateUserRequest/invalid", func(b *testing.B) {
		req := createUser()
		req.Username = "not-an-email"
		b.ReportAllocs()
		for b.Loop() {
			if err := Check(req); err == nil {
				b.Fatal("Check accepted an invalid username")
			}
		}
	})
	b.Run("ReportSessionProgressRequest/3x6", func(b *testing.B) {
		req := progress(3, 6)
		b.ReportAllocs()
		for b.Loop() {
			if err := Check(req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ResolveExternalIdsRequest/1000", func(b *testing.B) {
		req := &idp.ResolveExternalIdsRequest{UserpoolId: "p", ExternalIds: ids(1000)}
		b.ReportAllocs()
		for b.Loop() {
			if err := Check(req); err != nil {
				b.Fatal(err)
			}
		}
	})
}
