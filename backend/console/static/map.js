// The console's maps: zones from zones.geojson and cases as circle markers, drawn by Leaflet
// from JSON the page carries in <script type="application/json"> elements (CSP allows no
// inline script). Tiles only when MAP_TILE_URL is configured; without them the zones and the
// markers still draw, so the map works on a network without Internet access.
(function () {
  "use strict";

  function readJson(id) {
    var element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  function popup(props) {
    // Built from DOM nodes, never from HTML strings: category names and ids are data.
    var box = document.createElement("div");
    var title = document.createElement(props.url ? "a" : "strong");
    if (props.url) {
      title.href = props.url;
    }
    title.textContent = props.category + " #" + props.id;
    box.appendChild(title);
    var details = document.createElement("div");
    details.textContent = props.detail || "";
    box.appendChild(details);
    return box;
  }

  function draw(element) {
    var data = readJson(element.dataset.map);
    var config = readJson(element.dataset.config) || {};
    if (!data || typeof L === "undefined") {
      return;
    }
    var map = L.map(element, { scrollWheelZoom: false, attributionControl: true });
    map.attributionControl.setPrefix(false);
    if (config.tiles) {
      L.tileLayer(config.tiles, { maxZoom: 19, attribution: config.attribution || "" }).addTo(map);
    } else {
      element.classList.add("no-tiles");
    }
    var zones = L.geoJSON(data.zones, {
      style: function (feature) {
        return {
          color: feature.properties.colour,
          weight: 2,
          fillColor: feature.properties.colour,
          fillOpacity: 0.08
        };
      },
      onEachFeature: function (feature, layer) {
        layer.bindTooltip(feature.properties.name, { sticky: true });
      }
    }).addTo(map);
    var markers = L.layerGroup().addTo(map);
    (data.cases || []).forEach(function (feature) {
      var props = feature.properties;
      var point = [feature.geometry.coordinates[1], feature.geometry.coordinates[0]];
      var marker = L.circleMarker(point, {
        radius: 7,
        color: props.overdue ? "#b00020" : "#ffffff",
        weight: props.overdue ? 4 : 2,
        fillColor: props.colour,
        fillOpacity: 0.95,
        className: props.overdue ? "case-marker overdue" : "case-marker"
      });
      props.detail = element.dataset.reportsLabel
        ? element.dataset.reportsLabel.replace("{n}", props.reports)
        : "";
      marker.bindPopup(popup(props));
      marker.addTo(markers);
    });
    element.dataset.markers = String((data.cases || []).length);
    if (data.zoom && data.cases && data.cases.length === 1) {
      var only = data.cases[0].geometry.coordinates;
      map.setView([only[1], only[0]], data.zoom);
    } else {
      map.fitBounds(zones.getBounds(), { padding: [8, 8] });
    }
    element.dataset.ready = "true";
  }

  document.querySelectorAll("[data-map]").forEach(draw);
})();
