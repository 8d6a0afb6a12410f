// Adds the class "js" to <html>, so CSS can tell pages with scripts from pages without.
// Load it without defer or async in <head>, so the class is there before the first paint.
document.documentElement.classList.add("js");
