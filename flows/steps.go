package flows

import (
	"context"
	"errors"
	"github.com/dctwiz/dctwiz/trust"
	"slices"
	"sync"
	"time"
)

// StepID names a step; the IDs are part of the JSON contract.
type StepID string

// Phase groups a ceremony's steps by when they run: the wizard gives each
// phase a screen (the admin chooses what the next phase needs in between),
// the headless CLI runs every phase at once.
type Phase string

// The phases every ceremony shares.
const (
	// PhasePublish changes the server: keys, delegations, and the
	// certificates read back from what was published.
	PhasePublish Phase = "publish"
	// PhaseVerify proves the result as a consumer would.
	PhaseVerify Phase = "verify"
	// PhaseFinish tidies up locally (deletes a key that must not stay).
	PhaseFinish Phase = "finish"
)

// Step is one step of a ceremony over its input In. A ceremony is a list
// of steps: the runner (Ceremony) runs them in order, the CLI prints their
// titles as progress lines and the wizard shows each phase's steps on its
// screen, so every face names a step the same way.
type Step[In any] struct {
	ID    StepID
	Title string // one short line: what the step does
	Phase Phase
	// Skip says why the step will not run for this input; nil or "" = it runs.
	Skip func(In) string
	// Run does the step, recording what it did in rep (also when it
	// fails: what was published stays known), and returns a short note.
	// It returns a skipped error when it finds at run time that there is
	// nothing to do. Every step converges when run again.
	Run func(ctx context.Context, eng Engine, in In, rep *Report) (note string, err error)
}

// PlannedStep is a step as a plan shows it before anything runs.
type PlannedStep struct {
	ID    StepID `json:"id"`
	Title string `json:"title"`
	Phase Phase  `json:"phase"`
	// Skip, when not empty, says why the step will not run.
	Skip string `json:"skip,omitempty"`
}

// plan lists steps for this input, with the reasons some are skipped.
func plan[In any](steps []Step[In], in In) []PlannedStep {
	out := make([]PlannedStep, len(steps))
	for i, s := range steps {
		out[i] = PlannedStep{ID: s.ID, Title: s.Title, Phase: s.Phase}
		if s.Skip != nil {
			out[i].Skip = s.Skip(in)
		}
	}
	return out
}

// EventKind says what happened to a step.
type EventKind string

// Event kinds.
const (
	Started EventKind = "started"
	Done    EventKind = "done"
	Skipped EventKind = "skipped"
	Failed  EventKind = "failed"
)

// Event reports progress; Note is a short human-readable status.
type Event struct {
	Step  StepID
	Title string
	Kind  EventKind
	Note  string
	Err   error
	Taken time.Duration
}

// StepStatus is one step's outcome.
type StepStatus struct {
	Step   StepID    `json:"step"`
	Status EventKind `json:"status"`
	Note   string    `json:"note,omitempty"`
	Error  string    `json:"error,omitempty"`
	// OutcomeUnknown: the step's publish was sent and nobody could ask the
	// server afterwards whether it landed.
	OutcomeUnknown bool `json:"outcome_unknown,omitempty"`
	// Interrupted: the step was stopped from here (ctrl+c, a quit, a
	// signal) before it ended.
	Interrupted bool `json:"interrupted,omitempty"`
}

// skipped is how a step says at run time that it has nothing to do.
type skipped struct{ why string }

func (s skipped) Error() string { return s.why }

// Ceremony runs a list of steps over an input, in order, in parts if the
// caller likes: the wizard runs a phase, lets the admin choose what the
// next phase needs (Change), then runs that. The order stays here; a
// caller only says how far to go. Its methods may be called while
// RunThrough runs in another goroutine (the wizard draws the report while
// a step publishes).
type Ceremony[In any] struct {
	eng     Engine
	steps   []Step[In]
	check   func(context.Context, Engine, In) error
	events  func(Event)
	checked bool // touched by Check, which runs before a run or inside one

	mu   sync.Mutex // guards what follows
	in   In
	rep  *Report
	next int // index of the next step to run
}

func newCeremony[In any](eng Engine, steps []Step[In], in In, check func(context.Context, Engine, In) error, events func(Event)) *Ceremony[In] {
	if events == nil {
		events = func(Event) {}
	}
	return &Ceremony[In]{eng: eng, steps: steps, in: in, check: check, events: events, rep: &Report{Steps: []StepStatus{}}}
}

// Report is a copy of what the ceremony did so far.
func (c *Ceremony[In]) Report() *Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rep.clone()
}

// Plan lists the steps for the input as it stands, with the skipped ones.
func (c *Ceremony[In]) Plan() []PlannedStep {
	c.mu.Lock()
	defer c.mu.Unlock()
	return plan(c.steps, c.in)
}

// Next is the step that runs next; ok is false once every step ran.
func (c *Ceremony[In]) Next() (step PlannedStep, ok bool) {
	p := c.Plan()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.next >= len(p) {
		return PlannedStep{}, false
	}
	return p[c.next], true
}

// Change applies a choice made between two parts (a test tag, a
// confirmed deletion); it counts for the steps that have not run yet.
func (c *Ceremony[In]) Change(choose func(*In)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	choose(&c.in)
}

// Input is the ceremony's input as it stands.
func (c *Ceremony[In]) Input() In {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.in
}

// RunThrough runs the steps not yet run, in order, up to and including
// last; steps after last wait for a later call. The first call runs the
// ceremony's check first, so that nothing is created or published for an
// input that cannot finish. After a failure the failed step runs again on
// the next call: every step converges. One RunThrough runs at a time.
func (c *Ceremony[In]) RunThrough(ctx context.Context, last StepID) error {
	lastIdx := slices.IndexFunc(c.steps, func(s Step[In]) bool { return s.ID == last })
	if lastIdx < 0 {
		return errors.New("flows: no step " + string(last) + " in this ceremony")
	}
	// A choice made later is checked by its own step (the engine refuses
	// a missing tag, or a deletion without a signer).
	if err := c.Check(ctx); err != nil {
		return err
	}
	for {
		c.mu.Lock()
		i := c.next
		c.mu.Unlock()
		if i >= len(c.steps) || i > lastIdx {
			return nil
		}
		if err := c.run(ctx, c.steps[i]); err != nil {
			return err
		}
		c.mu.Lock()
		c.next++
		c.mu.Unlock()
	}
}

// Check runs the ceremony's check of its input, which the first run
// does anyway: a face that calls it first refuses an input that cannot
// finish before it shows anything being published. Once passed, it is
// not run again.
func (c *Ceremony[In]) Check(ctx context.Context) error {
	if c.checked || c.check == nil {
		return nil
	}
	if err := c.check(ctx, c.eng, c.Input()); err != nil {
		return err
	}
	c.checked = true
	return nil
}

// RunPhase runs the steps not yet run up to the end of phase.
func (c *Ceremony[In]) RunPhase(ctx context.Context, phase Phase) error {
	last := ""
	for _, s := range c.steps {
		if s.Phase == phase {
			last = string(s.ID)
		}
	}
	return c.RunThrough(ctx, StepID(last))
}

// RunAll runs every step not yet run.
func (c *Ceremony[In]) RunAll(ctx context.Context) error {
	return c.RunThrough(ctx, c.steps[len(c.steps)-1].ID)
}

// run runs one step on a copy of the report, so that readers never see
// it half-written, and records its outcome.
func (c *Ceremony[In]) run(ctx context.Context, step Step[In]) error {
	c.mu.Lock()
	rep := c.rep
	// A failed step's status is replaced by its rerun's.
	if n := len(rep.Steps); n > 0 && rep.Steps[n-1].Step == step.ID {
		rep.Steps = rep.Steps[:n-1]
	}
	in := c.in
	skip := ""
	if step.Skip != nil {
		skip = step.Skip(in)
	}
	if skip != "" {
		rep.Steps = append(rep.Steps, StepStatus{Step: step.ID, Status: Skipped, Note: skip})
		c.mu.Unlock()
		c.events(Event{Step: step.ID, Title: step.Title, Kind: Skipped, Note: skip})
		return nil
	}
	rep.Steps = append(rep.Steps, StepStatus{Step: step.ID, Status: Started})
	work := rep.clone()
	c.mu.Unlock()

	c.events(Event{Step: step.ID, Title: step.Title, Kind: Started, Note: step.Title})
	began := time.Now()
	note, err := step.Run(ctx, c.eng, in, work)

	c.mu.Lock()
	// What the step published stays in the report, even when it failed.
	work.Steps = rep.Steps
	*rep = *work
	st := &rep.Steps[len(rep.Steps)-1]
	var why skipped
	ev := Event{Step: step.ID, Title: step.Title}
	switch {
	case errors.As(err, &why):
		st.Status, st.Note = Skipped, why.why
		ev.Kind, ev.Note = Skipped, why.why
		err = nil
	case err != nil:
		st.Status, st.Error, st.OutcomeUnknown = Failed, err.Error(), trust.OutcomeUnknown(err)
		st.Interrupted = errors.Is(err, trust.ErrInterrupted) || errors.Is(err, context.Canceled)
		ev.Kind, ev.Err = Failed, err
	default:
		st.Status, st.Note = Done, note
		ev.Kind, ev.Note = Done, note
	}
	c.mu.Unlock()
	ev.Taken = time.Since(began)
	c.events(ev)
	return err
}
