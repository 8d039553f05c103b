//! A reader that returns at most `size` bytes per read.

pub(crate) struct Chunked<'a> {
    data: &'a [u8],
    size: usize,
}

impl<'a> Chunked<'a> {
    pub(crate) fn new(data: &'a [u8], size: usize) -> Self {
        Chunked { data, size }
    }
}

impl std::io::Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.size.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}
