fetch("/api/v1/info").then(r=>r.json()).then(i=>{document.getElementById("app").insertAdjacentText("beforeend"," API: Vikunja "+i.version)}).catch(()=>{});
