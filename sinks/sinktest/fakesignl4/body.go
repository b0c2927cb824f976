package fakesignl4

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
)

const (
	// maxAttachment is SIGNL4's limit per file part.
	maxAttachment = 4 << 20
	// maxRequest bounds what the fake reads of one request.
	maxRequest = 32 << 20
)

// Where SIGNL4 looks for an alert's title and text, in order.
var (
	titleKeys = []string{"subject", "title", "task", "job", "case", "incident", "X-S4-Subject"}
	textKeys  = []string{"text", "message", "messagetext", "description", "body", "content"}
)

// event is a parsed inbound body.
type event struct {
	params      map[string]any
	attachments []Attachment
}

func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxRequest+1))
	if err != nil {
		return b, fmt.Errorf("reading the body: %w", err)
	}
	if len(b) > maxRequest {
		return b[:maxRequest], errors.New("the request body is too large")
	}
	return b, nil
}

// parseEvent parses a body by its Content-Type, best-effort for text and
// XML, as SIGNL4 does.
func parseEvent(contentType string, body []byte) (*event, error) {
	mt, mp, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = ""
	}
	ev := &event{params: map[string]any{}}
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json") ||
		(mt == "" && bytes.HasPrefix(bytes.TrimSpace(body), []byte("{"))):
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&ev.params); err != nil || ev.params == nil {
			return nil, errors.New("The request body is not a valid JSON object.")
		}
		if dec.More() {
			return nil, errors.New("The request body is not a valid JSON object.")
		}
	case mt == "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, errors.New("The request body is not valid form data.")
		}
		for k, vs := range form {
			ev.params[k] = vs[0]
		}
	case mt == "multipart/form-data":
		if err := ev.multipart(body, mp["boundary"]); err != nil {
			return nil, err
		}
	case mt == "application/xml" || mt == "text/xml":
		if err := ev.xml(body); err != nil {
			return nil, err
		}
	default:
		if len(bytes.TrimSpace(body)) == 0 {
			return nil, errors.New("The request body is empty.")
		}
		ev.params["Text"] = string(body)
	}
	return ev, nil
}

func (ev *event) multipart(body []byte, boundary string) error {
	if boundary == "" {
		return errors.New("The multipart body has no boundary.")
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return errors.New("The multipart body is malformed.")
		}
		data, err := io.ReadAll(io.LimitReader(part, maxAttachment+1))
		if err != nil {
			return errors.New("The multipart body is malformed.")
		}
		if part.FileName() == "" {
			ev.params[part.FormName()] = string(data)
			continue
		}
		if len(data) > maxAttachment {
			return fmt.Errorf("The attachment %q exceeds the limit of 4 MB.", part.FileName())
		}
		ev.attachments = append(ev.attachments, Attachment{
			Field: part.FormName(), Filename: part.FileName(),
			ContentType: part.Header.Get("Content-Type"), Size: len(data),
		})
	}
}

// xml takes the root's child elements as parameters.
func (ev *event) xml(body []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(body))
	depth := 0
	var name string
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			if depth != 0 {
				return errors.New("The XML body is malformed.")
			}
			return nil
		}
		if err != nil {
			return errors.New("The XML body is malformed.")
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 {
				name = t.Name.Local
				text.Reset()
			}
		case xml.CharData:
			if depth == 2 {
				text.Write(t)
			}
		case xml.EndElement:
			if depth == 2 {
				ev.params[name] = strings.TrimSpace(text.String())
			}
			depth--
		}
	}
}

// param returns a parameter's value as text, its key matched
// case-insensitively.
func (ev *event) param(key string) string {
	for k, v := range ev.params {
		if strings.EqualFold(k, key) {
			return asText(v)
		}
	}
	return ""
}

// control returns an X-S4 control parameter.
func (ev *event) control(key string) string { return ev.param(key) }

func (ev *event) title() string { return ev.first(titleKeys) }
func (ev *event) text() string  { return ev.first(textKeys) }

func (ev *event) first(keys []string) string {
	for _, k := range keys {
		if v := ev.param(k); v != "" {
			return v
		}
	}
	return ""
}

// plainParams returns the parameters that are not X-S4 controls.
func (ev *event) plainParams() map[string]any {
	out := map[string]any{}
	for k, v := range ev.params {
		if !strings.HasPrefix(strings.ToLower(k), "x-s4-") {
			out[k] = v
		}
	}
	return out
}

func asText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		if v {
			return "true"
		}
		return "false"
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}
