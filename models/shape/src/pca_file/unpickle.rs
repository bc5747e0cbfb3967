//! A small unpickler for the GIAS3 .pc files: the opcodes numpy's pickles use, and the values they build.

use super::*;

/// A value on the unpickler's stack.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    Mark,
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    /// One of the numpy globals allowed.
    Global(&'static str),
    /// `_reconstruct(ndarray, ...)` waiting for its BUILD state.
    EmptyArray,
    /// `dtype(descr, ...)` (its byte order may come with a BUILD state).
    Dtype(String),
    Array(Array),
}

pub(super) struct Unpickler<'a> {
    pub(super) path: &'a Path,
    pub(super) b: &'a [u8],
    pub(super) pos: usize,
}

impl Unpickler<'_> {
    pub(super) fn err(&self, why: impl Into<String>) -> ShapeError {
        ShapeError::BadFile { path: PathBuf::from(self.path), why: format!("pickle at byte {}: {}", self.pos, why.into()) }
    }
    pub(super) fn take(&mut self, n: usize) -> Result<&[u8]> {
        let s = self.b.get(self.pos..self.pos.saturating_add(n)).ok_or_else(|| self.err("truncated"))?;
        self.pos += n;
        Ok(s)
    }
    pub(super) fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    pub(super) fn u16(&mut self) -> Result<usize> {
        let s = self.take(2)?;
        Ok(usize::from(u16::from_le_bytes([s[0], s[1]])))
    }
    pub(super) fn u32(&mut self) -> Result<usize> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize)
    }
    pub(super) fn u64(&mut self) -> Result<usize> {
        let s = self.take(8)?;
        usize::try_from(u64::from_le_bytes(s.try_into().map_err(|_| self.err("truncated"))?)).map_err(|_| self.err("length too large"))
    }
    pub(super) fn text(&mut self, n: usize) -> Result<String> {
        let s = self.take(n)?.to_vec();
        String::from_utf8(s).map_err(|_| self.err("a string is not UTF-8"))
    }
    pub(super) fn line(&mut self) -> Result<String> {
        let rest = self.b.get(self.pos..).unwrap_or_default();
        let n = rest.iter().position(|&c| c == b'\n').ok_or_else(|| self.err("unterminated line"))?;
        let s = self.text(n)?;
        self.pos += 1;
        Ok(s)
    }

    pub(super) fn global(&self, module: &str, name: &str) -> Result<Value> {
        let numpy = matches!(module, "numpy.core.multiarray" | "numpy._core.multiarray" | "numpy");
        Ok(Value::Global(match (numpy, name) {
            (true, "_reconstruct") => "_reconstruct",
            (true, "ndarray") => "ndarray",
            (true, "dtype") => "dtype",
            _ => return Err(self.err(format!("global {module}.{name} is not allowed (only numpy arrays are read, nothing is executed)"))),
        }))
    }

    pub(super) fn run(mut self) -> Result<Value> {
        let mut stack: Vec<Value> = Vec::new();
        let mut memo: Vec<Value> = Vec::new();
        let pop = |stack: &mut Vec<Value>, me: &Self| stack.pop().ok_or_else(|| me.err("stack underflow"));
        let pop_mark = |stack: &mut Vec<Value>, me: &Self| -> Result<Vec<Value>> {
            let at = stack.iter().rposition(|v| *v == Value::Mark).ok_or_else(|| me.err("no MARK"))?;
            let items = stack.split_off(at + 1);
            stack.pop();
            Ok(items)
        };
        loop {
            let op = self.u8()?;
            match op {
                0x80 => {
                    self.u8()?; // PROTO
                }
                0x95 => {
                    self.u64()?; // FRAME (a length hint)
                }
                b'.' => return pop(&mut stack, &self),
                b'(' => stack.push(Value::Mark),
                b'}' => stack.push(Value::Dict(Vec::new())),
                b']' => stack.push(Value::List(Vec::new())),
                b')' => stack.push(Value::Tuple(Vec::new())),
                b'N' => stack.push(Value::None),
                0x88 => stack.push(Value::Bool(true)),
                0x89 => stack.push(Value::Bool(false)),
                b'K' => {
                    let v = self.u8()?;
                    stack.push(Value::Int(i64::from(v)));
                }
                b'M' => {
                    let v = self.u16()?;
                    stack.push(Value::Int(v as i64));
                }
                b'J' => {
                    let s = self.take(4)?;
                    stack.push(Value::Int(i64::from(i32::from_le_bytes([s[0], s[1], s[2], s[3]]))));
                }
                b'G' => {
                    let s = self.take(8)?;
                    stack.push(Value::Float(f64::from_be_bytes(s.try_into().map_err(|_| self.err("truncated"))?)));
                }
                0x8c => {
                    let n = usize::from(self.u8()?);
                    let s = self.text(n)?;
                    stack.push(Value::Str(s));
                }
                b'X' => {
                    let n = self.u32()?;
                    let s = self.text(n)?;
                    stack.push(Value::Str(s));
                }
                b'C' => {
                    let n = usize::from(self.u8()?);
                    let s = self.take(n)?.to_vec();
                    stack.push(Value::Bytes(s));
                }
                b'B' => {
                    let n = self.u32()?;
                    let s = self.take(n)?.to_vec();
                    stack.push(Value::Bytes(s));
                }
                0x8e => {
                    let n = self.u64()?;
                    let s = self.take(n)?.to_vec();
                    stack.push(Value::Bytes(s));
                }
                // Protocol 2 pickles of Python 2 strings (`encoding='latin1'`): SHORT_BINSTRING, BINSTRING.
                b'U' => {
                    let n = usize::from(self.u8()?);
                    let s = self.take(n)?.to_vec();
                    stack.push(Value::Bytes(s));
                }
                b'T' => {
                    let n = self.u32()?;
                    let s = self.take(n)?.to_vec();
                    stack.push(Value::Bytes(s));
                }
                0x94 => {
                    let top = stack.last().cloned().ok_or_else(|| self.err("MEMOIZE on an empty stack"))?;
                    memo.push(top);
                }
                b'q' => {
                    let i = usize::from(self.u8()?);
                    self.put(&mut memo, i, &stack)?;
                }
                b'r' => {
                    let i = self.u32()?;
                    self.put(&mut memo, i, &stack)?;
                }
                b'h' => {
                    let i = usize::from(self.u8()?);
                    stack.push(memo.get(i).cloned().ok_or_else(|| self.err(format!("memo {i} unset")))?);
                }
                b'j' => {
                    let i = self.u32()?;
                    stack.push(memo.get(i).cloned().ok_or_else(|| self.err(format!("memo {i} unset")))?);
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    if stack.len() < n {
                        return Err(self.err("stack underflow"));
                    }
                    let items = stack.split_off(stack.len() - n);
                    stack.push(Value::Tuple(items));
                }
                b't' => {
                    let items = pop_mark(&mut stack, &self)?;
                    stack.push(Value::Tuple(items));
                }
                b'l' => {
                    let items = pop_mark(&mut stack, &self)?;
                    stack.push(Value::List(items));
                }
                b'a' | b'e' => {
                    let items = if op == b'a' { vec![pop(&mut stack, &self)?] } else { pop_mark(&mut stack, &self)? };
                    match stack.last_mut() {
                        Some(Value::List(l)) => l.extend(items),
                        _ => return Err(self.err("APPEND to something not a list")),
                    }
                }
                b's' | b'u' => {
                    let items = if op == b's' {
                        let v = pop(&mut stack, &self)?;
                        let k = pop(&mut stack, &self)?;
                        vec![k, v]
                    } else {
                        pop_mark(&mut stack, &self)?
                    };
                    if items.len() % 2 != 0 {
                        return Err(self.err("SETITEMS with an odd count"));
                    }
                    let Some(Value::Dict(d)) = stack.last_mut() else {
                        return Err(self.err("SETITEM on something not a dict"));
                    };
                    let mut it = items.into_iter();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        d.push((k, v));
                    }
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    let g = self.global(&module, &name)?;
                    stack.push(g);
                }
                0x93 => {
                    let name = pop(&mut stack, &self)?;
                    let module = pop(&mut stack, &self)?;
                    let (Value::Str(m), Value::Str(n)) = (module, name) else {
                        return Err(self.err("STACK_GLOBAL of non-strings"));
                    };
                    let g = self.global(&m, &n)?;
                    stack.push(g);
                }
                b'R' => {
                    let args = pop(&mut stack, &self)?;
                    let f = pop(&mut stack, &self)?;
                    let Value::Tuple(args) = args else {
                        return Err(self.err("REDUCE without an argument tuple"));
                    };
                    let v = match (f, args.first()) {
                        (Value::Global("_reconstruct"), Some(Value::Global("ndarray"))) => Value::EmptyArray,
                        (Value::Global("dtype"), Some(Value::Str(d))) => Value::Dtype(d.clone()),
                        (Value::Global("dtype"), Some(Value::Bytes(d))) => Value::Dtype(String::from_utf8_lossy(d).into_owned()),
                        (f, _) => {
                            return Err(self.err(format!("REDUCE of {f:?} is not a numpy array or dtype")));
                        }
                    };
                    stack.push(v);
                }
                b'b' => {
                    let state = pop(&mut stack, &self)?;
                    let target = pop(&mut stack, &self)?;
                    let built = match (target, state) {
                        // dtype state: (version, byte order, ...).
                        (Value::Dtype(d), Value::Tuple(s)) => {
                            let order = match s.get(1) {
                                Some(Value::Str(o)) if o == ">" => ">",
                                Some(Value::Str(o)) if o == "|" => "|",
                                _ => "<",
                            };
                            Value::Dtype(format!("{order}{d}"))
                        }
                        // ndarray state: (version, shape, dtype, is_fortran, raw bytes).
                        (Value::EmptyArray, Value::Tuple(s)) if s.len() == 5 => {
                            let shape = match &s[1] {
                                Value::Tuple(t) => t
                                    .iter()
                                    .map(|v| match v {
                                        Value::Int(i) if *i >= 0 => Ok(*i as usize),
                                        _ => Err(self.err("an array shape entry is not a size")),
                                    })
                                    .collect::<Result<Vec<_>>>()?,
                                _ => return Err(self.err("an array shape is not a tuple")),
                            };
                            let Value::Dtype(descr) = &s[2] else {
                                return Err(self.err("an array dtype is not a dtype"));
                            };
                            let fortran = matches!(s[3], Value::Bool(true));
                            let Value::Bytes(raw) = &s[4] else {
                                return Err(self.err("array data are not bytes (object arrays are not read)"));
                            };
                            Value::Array(decode(self.path, "array", descr, shape, fortran, raw)?)
                        }
                        (t, _) => return Err(self.err(format!("BUILD of {t:?}"))),
                    };
                    stack.push(built);
                }
                op => {
                    return Err(self.err(format!("opcode 0x{op:02x} is not supported by this reader of numpy pickles")));
                }
            }
        }
    }

    fn put(&self, memo: &mut Vec<Value>, i: usize, stack: &[Value]) -> Result<()> {
        let top = stack.last().cloned().ok_or_else(|| self.err("PUT on an empty stack"))?;
        if i > memo.len() + 1_000_000 {
            return Err(self.err("memo index too large"));
        }
        if memo.len() <= i {
            memo.resize(i + 1, Value::None);
        }
        memo[i] = top;
        Ok(())
    }
}
