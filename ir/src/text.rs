//! Textual form of the IR: `print` and `parse`, which round-trip exactly
//! (`parse(&print(g)) == g`), so passes can have golden tests and
//! `--print-ir-after-all` output can be fed back in.
//!
//! ```text
//! graph(%0 "x": f32[1,3,8,8]) {
//!   %1 "w": f32[4,3,3,3] = const "0000803f..."
//!   %2 "y": f32[1,4,6,6] = Conv(window: (kernel_shape: [3, 3], ...), group: 1)(%0, %1, _) "conv0"
//!   %3: f32[2] = undef
//!   return %2
//! }
//! ```
//!
//! One statement a line; `#` starts a comment at the end of a line. Values
//! are `%id`, optionally followed by their quoted name; types are
//! `dtype[dims]`. Constants carry their little-endian bytes in hex. Op
//! attributes are the op's RON serialization, so the parser needs no
//! per-op code. `_` marks an omitted optional input; a trailing string is the
//! node's name. `undef` declares an arena value no one defines yet (passes
//! create those), so printing never loses a value.
//!
//! The parser does not trust the text: value ids must be dense and declared
//! once, uses must follow definitions, and every node's output types are
//! re-inferred and compared with the printed ones.

use crate::dtype::{DType, TensorType};
use crate::error::IrError;
use crate::graph::{Graph, Node, Value, ValueId};
use crate::op::Op;
use crate::tensor::Tensor;
use bytes::Bytes;
use std::fmt::Write;

/// How `print_with` renders a graph.
#[derive(Clone, Debug, Default)]
pub struct PrintOptions {
    /// Constants with more bytes than this print as `const elided(N bytes)`,
    /// which keeps dumps of real models readable (such text does not parse back).
    pub elide_consts_over: Option<usize>,
}

impl PrintOptions {
    /// What `--print-ir-after-all` and `--emit ir` use: weights elided.
    pub fn readable() -> PrintOptions {
        PrintOptions { elide_consts_over: Some(64) }
    }
}

/// Prints `g` in the textual form (see the module docs); parses back exactly.
pub fn print(g: &Graph) -> String {
    print_with(g, &PrintOptions::default())
}

/// Prints `g`, possibly eliding large constants (see `PrintOptions`).
pub fn print_with(g: &Graph, opts: &PrintOptions) -> String {
    let mut out = String::from("graph(");
    let inputs: Vec<String> = g.inputs.iter().map(|&id| decl(g, id)).collect();
    out += &inputs.join(", ");
    out += ") {\n";
    let mut defined = vec![false; g.values.len()];
    for &id in &g.inputs {
        mark(&mut defined, id);
    }
    for n in &g.nodes {
        for &o in &n.outputs {
            mark(&mut defined, o);
        }
    }
    // Constants first: they depend on nothing, so any node may follow them.
    for (i, v) in g.values.iter().enumerate() {
        if let (Some(k), false) = (&v.konst, defined[i]) {
            let n = k.bytes().len();
            if opts.elide_consts_over.is_some_and(|max| n > max) {
                let _ = writeln!(out, "  {} = const elided({n} bytes)", decl(g, ValueId(i as u32)));
            } else {
                let _ = writeln!(out, "  {} = const \"{}\"", decl(g, ValueId(i as u32)), hex(k.bytes()));
            }
            defined[i] = true;
        }
    }
    for n in &g.nodes {
        out += "  ";
        out += &print_node(g, n);
        out += "\n";
    }
    for (i, _) in g.values.iter().enumerate().filter(|(i, _)| !defined[*i]) {
        let _ = writeln!(out, "  {} = undef", decl(g, ValueId(i as u32)));
    }
    let outs: Vec<String> = g.outputs.iter().map(|o| o.to_string()).collect();
    if outs.is_empty() {
        out += "  return\n}\n";
    } else {
        let _ = write!(out, "  return {}\n}}\n", outs.join(", "));
    }
    out
}

fn mark(defined: &mut [bool], id: ValueId) {
    if let Some(d) = defined.get_mut(id.0 as usize) {
        *d = true;
    }
}

/// `%id "name": type`, the name omitted when empty.
fn decl(g: &Graph, id: ValueId) -> String {
    let Some(v) = g.values.get(id.0 as usize) else {
        return format!("{id}: <missing>");
    };
    if v.name.is_empty() {
        format!("{id}: {}", v.ty)
    } else {
        format!("{id} {}: {}", quote(&v.name), v.ty)
    }
}

fn quote(s: &str) -> String {
    // RON escapes like Rust's `escape_debug`, so a name never spans lines.
    ron::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

fn hex(b: &Bytes) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b.iter() {
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// RON of an op on one line, with spaces after `:` and `,` for readability.
pub fn print_op(op: &Op) -> String {
    let cfg = ron::ser::PrettyConfig::new()
        .new_line("")
        .indentor("")
        .compact_arrays(true)
        .compact_structs(true)
        .compact_maps(true);
    ron::ser::to_string_pretty(op, cfg).unwrap_or_else(|e| format!("<unprintable op: {e}>"))
}

fn print_node(g: &Graph, n: &Node) -> String {
    let outs: Vec<String> = n.outputs.iter().map(|&o| decl(g, o)).collect();
    let ins: Vec<String> = n
        .inputs
        .iter()
        .map(|i| i.map_or_else(|| "_".to_string(), |id| id.to_string()))
        .collect();
    let mut s = format!(
        "{} = {}({})",
        outs.join(", "),
        print_op(&n.op),
        ins.join(", ")
    );
    if !n.name.is_empty() {
        s += " ";
        s += &quote(&n.name);
    }
    s
}

/// Parses the textual form back into a graph (see the module docs for what
/// is checked).
pub fn parse(s: &str) -> Result<Graph, IrError> {
    Parser::default().run(s)
}

/// What a statement defines a value as.
enum Def {
    Input,
    Const(Bytes),
    Undef,
    Node,
}

struct Decl {
    id: u32,
    name: String,
    ty: TensorType,
    def: Def,
    line: usize,
}

struct NodeStmt {
    node: Node,
    line: usize,
}

#[derive(Default)]
struct Parser {
    decls: Vec<Decl>,
    nodes: Vec<NodeStmt>,
    inputs: Vec<ValueId>,
    outputs: Option<(Vec<ValueId>, usize)>,
}

impl Parser {
    fn run(mut self, s: &str) -> Result<Graph, IrError> {
        let mut lines = s
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l))
            .filter(|(_, l)| !is_blank(l));
        let (hl, header) = lines
            .next()
            .ok_or_else(|| perr(1, "empty input: expected `graph(...) {`"))?;
        self.header(Cur::new(header, hl))?;
        let mut closed = None;
        for (ln, l) in lines.by_ref() {
            let mut c = Cur::new(l, ln);
            c.ws();
            if c.eat('}') {
                c.end()?;
                closed = Some(ln);
                break;
            }
            if self.outputs.is_some() {
                return Err(perr(ln, "statement after `return`; expected `}`"));
            }
            if c.keyword("return") {
                self.ret(c)?;
            } else {
                self.statement(c)?;
            }
        }
        let last = s.lines().count();
        let closed = closed.ok_or_else(|| perr(last, "missing closing `}`"))?;
        if let Some((ln, _)) = lines.next() {
            return Err(perr(ln, "unexpected text after the closing `}`"));
        }
        if self.outputs.is_none() {
            return Err(perr(closed, "missing `return` before `}`"));
        }
        self.build()
    }

    fn header(&mut self, mut c: Cur<'_>) -> Result<(), IrError> {
        c.ws();
        if !c.keyword("graph") {
            return Err(c.err("expected `graph(...) {`"));
        }
        c.expect('(')?;
        c.ws();
        if !c.eat(')') {
            loop {
                let (id, name, ty) = c.decl()?;
                self.inputs.push(ValueId(id));
                self.decls.push(Decl {
                    id,
                    name,
                    ty,
                    def: Def::Input,
                    line: c.line,
                });
                c.ws();
                if c.eat(')') {
                    break;
                }
                c.expect(',')?;
            }
        }
        c.expect('{')?;
        c.end()
    }

    fn ret(&mut self, mut c: Cur<'_>) -> Result<(), IrError> {
        let mut outs = vec![];
        c.ws();
        if !c.at_end() {
            loop {
                outs.push(ValueId(c.value_id()?));
                c.ws();
                if !c.eat(',') {
                    break;
                }
            }
        }
        c.end()?;
        self.outputs = Some((outs, c.line));
        Ok(())
    }

    /// `decls = const "hex"`, `decls = undef` or `decls = Op(...)(inputs) "name"`.
    fn statement(&mut self, mut c: Cur<'_>) -> Result<(), IrError> {
        let line = c.line;
        let mut lhs = vec![c.decl()?];
        loop {
            c.ws();
            if c.eat('=') {
                break;
            }
            c.expect(',')?;
            lhs.push(c.decl()?);
        }
        c.ws();
        let def = if c.keyword("const") {
            c.ws();
            Def::Const(unhex(&c.string()?).map_err(|m| c.err(&m))?)
        } else if c.keyword("undef") {
            Def::Undef
        } else {
            self.node(&mut c, &lhs)?;
            Def::Node
        };
        c.end()?;
        if lhs.len() > 1 && !matches!(def, Def::Node) {
            return Err(perr(
                line,
                &format!(
                    "`const` and `undef` define exactly one value, got {}",
                    lhs.len()
                ),
            ));
        }
        for (id, name, ty) in lhs {
            // Several left-hand values only occur for nodes; `Bytes` clones share data.
            let def = match &def {
                Def::Const(b) => Def::Const(b.clone()),
                Def::Undef => Def::Undef,
                Def::Input | Def::Node => Def::Node,
            };
            self.decls.push(Decl {
                id,
                name,
                ty,
                def,
                line,
            });
        }
        Ok(())
    }

    fn node(&mut self, c: &mut Cur<'_>, lhs: &[(u32, String, TensorType)]) -> Result<(), IrError> {
        let start = c.pos;
        c.ident()
            .ok_or_else(|| c.err("expected `const`, `undef` or an op"))?;
        // `Op(attrs)(inputs)` or `Op(inputs)`: the first group belongs to the
        // op only when a second group (the inputs) follows it.
        let mut op_end = c.pos;
        let mut inputs_at = c.pos;
        if c.peek() == Some('(') {
            let after_first = c.skip_group()?;
            let mut probe = c.clone();
            probe.ws();
            if probe.peek() == Some('(') {
                op_end = after_first;
                inputs_at = probe.pos;
            }
        }
        let op_text = &c.s[start..op_end];
        let op: Op =
            ron::from_str(op_text).map_err(|e| c.err(&format!("invalid op `{op_text}`: {e}")))?;
        c.pos = inputs_at;
        c.expect('(')?;
        let mut inputs = vec![];
        c.ws();
        if !c.eat(')') {
            loop {
                c.ws();
                inputs.push(if c.eat('_') {
                    None
                } else {
                    Some(ValueId(c.value_id()?))
                });
                c.ws();
                if c.eat(')') {
                    break;
                }
                c.expect(',')?;
            }
        }
        c.ws();
        let name = if c.peek() == Some('"') {
            c.string()?
        } else {
            String::new()
        };
        let outputs = lhs.iter().map(|d| ValueId(d.0)).collect();
        self.nodes.push(NodeStmt {
            node: Node {
                name,
                op,
                inputs,
                outputs,
            },
            line: c.line,
        });
        Ok(())
    }

    /// Assembles the graph, checking ids, definitions and node types.
    fn build(self) -> Result<Graph, IrError> {
        let n = self.decls.len();
        let mut slots: Vec<Option<&Decl>> = (0..n).map(|_| None).collect();
        for d in &self.decls {
            let slot = slots.get_mut(d.id as usize).ok_or_else(|| {
                perr(
                    d.line,
                    &format!("value %{} is out of range: ids must be dense, 0..{n}", d.id),
                )
            })?;
            if let Some(prev) = slot {
                return Err(perr(
                    d.line,
                    &format!(
                        "value %{} is declared twice (first on line {})",
                        d.id, prev.line
                    ),
                ));
            }
            *slot = Some(d);
        }
        // Every slot is filled: n distinct ids, all below n.
        let decls: Vec<&Decl> = slots.into_iter().flatten().collect();
        let mut g = Graph::new();
        let mut defined = vec![false; n];
        for d in &decls {
            let konst = match &d.def {
                Def::Const(b) => Some(
                    Tensor::from_bytes(d.ty.clone(), b.clone())
                        .map_err(|e| perr(d.line, &format!("constant %{}: {e}", d.id)))?,
                ),
                _ => None,
            };
            defined[d.id as usize] = matches!(d.def, Def::Input | Def::Const(_));
            g.values.push(Value {
                name: d.name.clone(),
                ty: d.ty.clone(),
                konst,
            });
        }
        g.inputs = self.inputs;
        for NodeStmt { node, line } in self.nodes {
            check_node(&g, &node, &defined, line)?;
            for o in &node.outputs {
                defined[o.0 as usize] = true;
            }
            g.nodes.push(node);
        }
        let (outs, line) = self.outputs.unwrap_or_default();
        if let Some(o) = outs
            .iter()
            .find(|o| !defined.get(o.0 as usize).copied().unwrap_or(false))
        {
            return Err(perr(line, &format!("returned value {o} is never defined")));
        }
        g.outputs = outs;
        Ok(g)
    }
}

/// Checks a node's inputs are defined and re-infers its output types.
fn check_node(g: &Graph, node: &Node, defined: &[bool], line: usize) -> Result<(), IrError> {
    let what = node_label(node);
    for i in node.inputs.iter().flatten() {
        if !defined.get(i.0 as usize).copied().unwrap_or(false) {
            return Err(perr(
                line,
                &format!("{what} reads {i} before it is defined"),
            ));
        }
    }
    let types = g
        .infer_node(&node.op, &node.inputs, node.outputs.len())
        .map_err(|e| perr(line, &format!("{what}: {e}")))?;
    for (o, ty) in node.outputs.iter().zip(&types) {
        if g.ty(*o) != ty {
            return Err(perr(
                line,
                &format!(
                    "{what}: output {o} is printed as {} but the op infers {ty}",
                    g.ty(*o)
                ),
            ));
        }
    }
    Ok(())
}

fn node_label(n: &Node) -> String {
    if n.name.is_empty() {
        format!("node ({})", n.op.onnx_name())
    } else {
        format!("node `{}` ({})", n.name, n.op.onnx_name())
    }
}

fn perr(line: usize, msg: &str) -> IrError {
    IrError::Parse {
        line,
        msg: msg.to_string(),
    }
}

fn is_blank(l: &str) -> bool {
    let t = l.trim_start();
    t.is_empty() || t.starts_with('#')
}

fn unhex(s: &str) -> Result<Bytes, String> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return Err("constant hex data must be an even number of hex digits".into());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map(Bytes::from)
        .map_err(|e| format!("invalid constant hex data: {e}"))
}

/// A cursor over one line.
#[derive(Clone)]
struct Cur<'s> {
    s: &'s str,
    pos: usize,
    line: usize,
}

impl<'s> Cur<'s> {
    fn new(s: &'s str, line: usize) -> Self {
        Cur { s, pos: 0, line }
    }

    fn err(&self, msg: &str) -> IrError {
        perr(self.line, &format!("{msg} (at column {})", self.pos + 1))
    }

    fn rest(&self) -> &'s str {
        &self.s[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn ws(&mut self) {
        let r = self.rest();
        self.pos += r.len() - r.trim_start().len();
    }

    fn eat(&mut self, ch: char) -> bool {
        if self.peek() == Some(ch) {
            self.pos += ch.len_utf8();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, ch: char) -> Result<(), IrError> {
        self.ws();
        if self.eat(ch) {
            Ok(())
        } else {
            let found = self
                .peek()
                .map_or("end of line".to_string(), |c| format!("`{c}`"));
            Err(self.err(&format!("expected `{ch}`, found {found}")))
        }
    }

    fn at_end(&self) -> bool {
        let r = self.rest().trim_start();
        r.is_empty() || r.starts_with('#')
    }

    /// Only whitespace or a comment may remain.
    fn end(&mut self) -> Result<(), IrError> {
        self.ws();
        if self.at_end() {
            Ok(())
        } else {
            Err(self.err(&format!("unexpected `{}`", self.rest())))
        }
    }

    fn ident(&mut self) -> Option<&'s str> {
        let r = self.rest();
        let len = r
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(r.len());
        if len == 0 || r.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        self.pos += len;
        Some(&r[..len])
    }

    /// Consumes `word` if it is the next identifier.
    fn keyword(&mut self, word: &str) -> bool {
        let save = self.pos;
        self.ws();
        if self.ident() == Some(word) {
            return true;
        }
        self.pos = save;
        false
    }

    fn number(&mut self) -> Result<u64, IrError> {
        let r = self.rest();
        let len = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
        let v = r[..len]
            .parse::<u64>()
            .map_err(|_| self.err("expected a number"))?;
        self.pos += len;
        Ok(v)
    }

    fn value_id(&mut self) -> Result<u32, IrError> {
        self.ws();
        if !self.eat('%') {
            return Err(self.err("expected a value `%N`"));
        }
        let n = self.number()?;
        u32::try_from(n).map_err(|_| self.err(&format!("value id %{n} is too large")))
    }

    /// A double-quoted string with RON (Rust-like) escapes.
    fn string(&mut self) -> Result<String, IrError> {
        let r = self.rest();
        if !r.starts_with('"') {
            return Err(self.err("expected a string"));
        }
        let mut escaped = false;
        let close = r.char_indices().skip(1).find(|&(_, ch)| {
            let done = ch == '"' && !escaped;
            escaped = ch == '\\' && !escaped;
            done
        });
        let (i, _) = close.ok_or_else(|| self.err("unterminated string"))?;
        let lit = &r[..=i];
        let v: String =
            ron::from_str(lit).map_err(|e| self.err(&format!("invalid string {lit}: {e}")))?;
        self.pos += i + 1;
        Ok(v)
    }

    /// Skips a balanced `(...)` group (strings respected); returns the end position.
    fn skip_group(&mut self) -> Result<usize, IrError> {
        let mut depth = 0usize;
        while let Some(ch) = self.peek() {
            match ch {
                '"' => {
                    self.string()?;
                    continue;
                }
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => {
                    depth = depth
                        .checked_sub(1)
                        .ok_or_else(|| self.err("unbalanced brackets"))?;
                    if depth == 0 {
                        self.pos += 1;
                        return Ok(self.pos);
                    }
                }
                _ => {}
            }
            self.pos += ch.len_utf8();
        }
        Err(self.err("unclosed `(`"))
    }

    /// `dtype[d0,d1,...]`.
    fn ty(&mut self) -> Result<TensorType, IrError> {
        self.ws();
        let at = self.pos;
        let name = self
            .ident()
            .ok_or_else(|| self.err("expected a type such as f32[1,2]"))?;
        let dtype = DType::from_name(name).ok_or_else(|| {
            self.pos = at;
            self.err(&format!("unknown dtype `{name}`"))
        })?;
        self.expect('[')?;
        let mut shape = vec![];
        self.ws();
        if !self.eat(']') {
            loop {
                self.ws();
                let d = self.number()?;
                shape.push(usize::try_from(d).map_err(|_| self.err("dimension too large"))?);
                self.ws();
                if self.eat(']') {
                    break;
                }
                self.expect(',')?;
            }
        }
        Ok(TensorType { dtype, shape })
    }

    /// `%id "name": type` (the name is optional).
    fn decl(&mut self) -> Result<(u32, String, TensorType), IrError> {
        let id = self.value_id()?;
        self.ws();
        let name = if self.peek() == Some('"') {
            self.string()?
        } else {
            String::new()
        };
        self.expect(':')?;
        Ok((id, name, self.ty()?))
    }
}
