package roberta

import (
	"encoding/json"
	"testing"
)

// FuzzConfig decodes arbitrary config.json text as a checkpoint's config is
// decoded, then validates it: an error or a config, never a panic; a config
// that validates can be allocated within MaxParams.
func FuzzConfig(f *testing.F) {
	small, _ := Preset("small")
	raw, _ := json.Marshal(small)
	f.Add(raw)
	f.Add([]byte(`{"hidden_size": 2147483648, "num_attention_heads": 1}`))
	f.Add([]byte(`{"num_hidden_layers": 1000000000}`))
	f.Add([]byte(`{"max_position_embeddings": 4000000000, "hidden_size": 16}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, _ := Preset("tiny")
		if err := json.Unmarshal(data, &c); err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			return
		}
		if n := c.paramCount(); n > float64(MaxParams) || n <= 0 {
			t.Fatalf("a valid config counts %v parameters", n)
		}
	})
}
