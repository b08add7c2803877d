//! Every problem found, reported at once: each stage pushes its errors here and the
//! last one turns them into `compile_error!`s next to the user's function.

/// The errors of one expansion, combined in the order they were found.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, err: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(err),
            None => self.0 = Some(err),
        }
    }

    pub(crate) fn extend(&mut self, errs: impl IntoIterator<Item = syn::Error>) {
        errs.into_iter().for_each(|err| self.push(err));
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}
