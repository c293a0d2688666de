package roberta

import (
	"fmt"

	"lethe/internal/splitmix"
	"lethe/nn"
)

// Layer holds the parameters of one encoder layer. The query, key and value
// weights lie next to each other in memory (query rows, then key, then
// value) and so do their biases, so that QKVWeight/QKVBias see them as one
// [3C, C] weight and one [3C] bias for a single fused GEMM.
type Layer struct {
	Query, QueryBias *nn.Param // [C, C], [C]
	Key, KeyBias     *nn.Param // [C, C], [C]
	Value, ValueBias *nn.Param // [C, C], [C]
	AttnOut          *nn.Param // attention.output.dense.weight [C, C]
	AttnOutBias      *nn.Param // [C]
	AttnLN, AttnLNB  *nn.Param // attention.output.LayerNorm weight, bias [C]
	Inter, InterBias *nn.Param // intermediate.dense [F, C], [F]
	Out, OutBias     *nn.Param // output.dense [C, F], [C]
	OutLN, OutLNB    *nn.Param // output.LayerNorm weight, bias [C]

	// Fused views over Query/Key/Value (weights [3C, C], biases [3C]) in
	// Params.Data and Params.Grad.
	QKVWeight, QKVBias         []float32
	QKVWeightGrad, QKVBiasGrad []float32
}

// Params is every parameter of a RobertaForMaskedLM in one flat float32
// buffer (Data) with one flat gradient buffer (Grad) beside it; each nn.Param
// is a view of both under its Hugging Face tensor name. One buffer makes
// optimizer steps, gradient clipping and checkpointing single loops, and
// lets the fused QKV weight be a plain sub-slice.
//
// The LM decoder weight is tied to the word embeddings: it has no tensor of
// its own and its gradient accumulates into WordEmb.Grad.
type Params struct {
	Config     Config
	Data, Grad []float32

	WordEmb, PosEmb, TypeEmb *nn.Param // [V, C], [P, C], [1, C]
	EmbLN, EmbLNB            *nn.Param // roberta.embeddings.LayerNorm weight, bias [C]
	Layers                   []Layer
	HeadDense, HeadDenseB    *nn.Param // lm_head.dense [C, C], [C]
	HeadLN, HeadLNB          *nn.Param // lm_head.layer_norm weight, bias [C]
	HeadBias                 *nn.Param // lm_head.bias [V]

	list   []*nn.Param // Hugging Face order
	byName map[string]*nn.Param
}

// NewParams lays out zeroed parameters for cfg (call Init to draw them).
// Every parameter starts with RequiresGrad set.
func NewParams(cfg Config) (*Params, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	V, C, F, P := cfg.VocabSize, cfg.HiddenSize, cfg.IntermediateSize, cfg.MaxPositionEmbeddings
	p := &Params{Config: cfg, byName: make(map[string]*nn.Param)}

	// First pass: shapes in memory order; the list order is fixed after.
	type slot struct {
		name  string
		shape []int
		dst   **nn.Param
	}
	var mem []slot
	add := func(dst **nn.Param, name string, shape ...int) {
		mem = append(mem, slot{name, shape, dst})
	}
	add(&p.WordEmb, "roberta.embeddings.word_embeddings.weight", V, C)
	add(&p.PosEmb, "roberta.embeddings.position_embeddings.weight", P, C)
	add(&p.TypeEmb, "roberta.embeddings.token_type_embeddings.weight", cfg.TypeVocabSize, C)
	add(&p.EmbLN, "roberta.embeddings.LayerNorm.weight", C)
	add(&p.EmbLNB, "roberta.embeddings.LayerNorm.bias", C)
	p.Layers = make([]Layer, cfg.NumHiddenLayers)
	for i := range p.Layers {
		L := &p.Layers[i]
		pre := fmt.Sprintf("roberta.encoder.layer.%d.", i)
		// Memory order: the three weights, then the three biases (fused QKV).
		add(&L.Query, pre+"attention.self.query.weight", C, C)
		add(&L.Key, pre+"attention.self.key.weight", C, C)
		add(&L.Value, pre+"attention.self.value.weight", C, C)
		add(&L.QueryBias, pre+"attention.self.query.bias", C)
		add(&L.KeyBias, pre+"attention.self.key.bias", C)
		add(&L.ValueBias, pre+"attention.self.value.bias", C)
		add(&L.AttnOut, pre+"attention.output.dense.weight", C, C)
		add(&L.AttnOutBias, pre+"attention.output.dense.bias", C)
		add(&L.AttnLN, pre+"attention.output.LayerNorm.weight", C)
		add(&L.AttnLNB, pre+"attention.output.LayerNorm.bias", C)
		add(&L.Inter, pre+"intermediate.dense.weight", F, C)
		add(&L.InterBias, pre+"intermediate.dense.bias", F)
		add(&L.Out, pre+"output.dense.weight", C, F)
		add(&L.OutBias, pre+"output.dense.bias", C)
		add(&L.OutLN, pre+"output.LayerNorm.weight", C)
		add(&L.OutLNB, pre+"output.LayerNorm.bias", C)
	}
	add(&p.HeadDense, "lm_head.dense.weight", C, C)
	add(&p.HeadDenseB, "lm_head.dense.bias", C)
	add(&p.HeadLN, "lm_head.layer_norm.weight", C)
	add(&p.HeadLNB, "lm_head.layer_norm.bias", C)
	add(&p.HeadBias, "lm_head.bias", V)

	total := 0
	for _, s := range mem {
		total += numel(s.shape)
	}
	p.Data = make([]float32, total)
	p.Grad = make([]float32, total)
	off := 0
	offset := make(map[*nn.Param]int, len(mem))
	for _, s := range mem {
		n := numel(s.shape)
		q := &nn.Param{
			Name:         s.name,
			Shape:        s.shape,
			Data:         p.Data[off : off+n : off+n],
			Grad:         p.Grad[off : off+n : off+n],
			RequiresGrad: true,
		}
		*s.dst = q
		p.byName[s.name] = q
		offset[q] = off
		off += n
	}
	for i := range p.Layers {
		L := &p.Layers[i]
		w, b := offset[L.Query], offset[L.QueryBias]
		L.QKVWeight = p.Data[w : w+3*C*C : w+3*C*C]
		L.QKVWeightGrad = p.Grad[w : w+3*C*C : w+3*C*C]
		L.QKVBias = p.Data[b : b+3*C : b+3*C]
		L.QKVBiasGrad = p.Grad[b : b+3*C : b+3*C]
	}

	// Hugging Face order (state_dict order of RobertaForMaskedLM, tied
	// decoder left out).
	p.list = []*nn.Param{p.WordEmb, p.PosEmb, p.TypeEmb, p.EmbLN, p.EmbLNB}
	for i := range p.Layers {
		L := &p.Layers[i]
		p.list = append(p.list, L.Query, L.QueryBias, L.Key, L.KeyBias, L.Value, L.ValueBias,
			L.AttnOut, L.AttnOutBias, L.AttnLN, L.AttnLNB, L.Inter, L.InterBias,
			L.Out, L.OutBias, L.OutLN, L.OutLNB)
	}
	p.list = append(p.list, p.HeadDense, p.HeadDenseB, p.HeadLN, p.HeadLNB, p.HeadBias)
	return p, nil
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// All returns every parameter in Hugging Face order. The slice is shared:
// do not modify it.
func (p *Params) All() []*nn.Param { return p.list }

// Param returns the parameter with the given Hugging Face name. The names
// Hugging Face also uses for the tied tensors resolve to them:
// lm_head.decoder.weight to the word embeddings, lm_head.decoder.bias to
// lm_head.bias (so a transformers checkpoint that stores them loads).
func (p *Params) Param(name string) (*nn.Param, bool) {
	switch name {
	case "lm_head.decoder.weight":
		return p.WordEmb, true
	case "lm_head.decoder.bias":
		return p.HeadBias, true
	}
	q, ok := p.byName[name]
	return q, ok
}

// Embeddings returns the token embedding matrix (tied to the LM decoder): the
// group that active forgetting resets and that language adaptation trains.
func (p *Params) Embeddings() *nn.Param { return p.WordEmb }

// Body returns every parameter except the token embedding matrix, in Hugging
// Face order: the group that forgetting keeps and language adaptation freezes.
func (p *Params) Body() []*nn.Param {
	body := make([]*nn.Param, 0, len(p.list)-1)
	for _, q := range p.list {
		if q != p.WordEmb {
			body = append(body, q)
		}
	}
	return body
}

// NumParams returns the number of scalar parameters (tied decoder counted once).
func (p *Params) NumParams() int { return len(p.Data) }

// ZeroGrad sets every gradient to zero.
func (p *Params) ZeroGrad() { clear(p.Grad) }

// SetRequiresGrad sets RequiresGrad on every parameter.
func (p *Params) SetRequiresGrad(v bool) {
	for _, q := range p.list {
		q.RequiresGrad = v
	}
}

// Init draws every parameter as Hugging Face's RobertaPreTrainedModel
// _init_weights does: Linear and Embedding weights from N(0,
// initializer_range), Linear biases 0, LayerNorm weight 1 and bias 0, the
// padding_idx rows of the word and position embeddings 0, lm_head.bias 0.
// Each tensor has its own random stream derived from seed and its name, so
// the result is the same on any machine and independent of layout.
func (p *Params) Init(seed uint64) {
	cfg := p.Config
	std := cfg.InitializerRange
	C := cfg.HiddenSize
	normal := func(q *nn.Param) {
		r := splitmix.Rand{S: splitmix.Stream(seed, hashName(q.Name))}
		for i := range q.Data {
			q.Data[i] = float32(std * r.Normal())
		}
	}
	fill := func(q *nn.Param, v float32) {
		for i := range q.Data {
			q.Data[i] = v
		}
	}
	for _, q := range p.list {
		switch {
		case len(q.Shape) == 2: // Linear and Embedding weights
			normal(q)
		case isLayerNormWeight(q.Name):
			fill(q, 1)
		default: // biases, LayerNorm biases, lm_head.bias
			fill(q, 0)
		}
	}
	pad := cfg.PadTokenID
	clear(p.WordEmb.Data[pad*C : (pad+1)*C])
	clear(p.PosEmb.Data[pad*C : (pad+1)*C])
}

// ResetWordEmbeddings redraws only the token embedding matrix from N(0,
// initializer_range) with the padding row zero, as active forgetting and
// language adaptation do; every other parameter is left as it is.
func (p *Params) ResetWordEmbeddings(seed uint64) {
	cfg := p.Config
	r := splitmix.Rand{S: splitmix.Stream(seed, hashName("reset:"+p.WordEmb.Name))}
	std := cfg.InitializerRange
	for i := range p.WordEmb.Data {
		p.WordEmb.Data[i] = float32(std * r.Normal())
	}
	C, pad := cfg.HiddenSize, cfg.PadTokenID
	clear(p.WordEmb.Data[pad*C : (pad+1)*C])
}

func isLayerNormWeight(name string) bool {
	n := len(name)
	for _, suf := range []string{"LayerNorm.weight", "layer_norm.weight"} {
		if n >= len(suf) && name[n-len(suf):] == suf {
			return true
		}
	}
	return false
}

// hashName is FNV-1a over a string, to derive a per-tensor stream.
func hashName(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
